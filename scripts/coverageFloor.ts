// After the tests (npm test runs it after tap): the share of src/ the suite ran must not fall
// below FLOOR. tap's own thresholds (`lines:` in .taprc) would apply to every run, one test
// file's too, and fail without a word under the text report; this applies to the whole suite
// and says which figure fell. It reads tap's summary of the coverage the last run recorded.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { projectFile } from '../src/projectFiles.js';

/** The floor, in % (the one place it is set): a little under what the suite covers. */
const FLOOR: Partial<Record<Metric, number>> = { lines: 96 };

const METRICS = ['lines', 'statements', 'branches', 'functions'] as const;
type Metric = (typeof METRICS)[number];

// `tap report json-summary` writes .tap/report/coverage-summary.json from .tap/coverage, which
// each full run of tap starts afresh; it fails when there is no coverage to report.
try {
  execFileSync(projectFile('node_modules', '.bin', 'tap'), ['report', 'json-summary'], { cwd: projectFile(), stdio: 'pipe' });
} catch (error) {
  const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
  process.stderr.write(`tap report json-summary failed (was the last tap run without coverage?):\n${stdout?.toString() ?? ''}${stderr?.toString() ?? ''}\n`);
  process.exit(1);
}
const { total } = JSON.parse(readFileSync(projectFile('.tap', 'report', 'coverage-summary.json'), 'utf8')) as {
  total: Record<Metric, { total: number; covered: number; pct: number }>;
};

const figures = METRICS.map((metric) => `${metric} ${total[metric].pct} %${FLOOR[metric] === undefined ? '' : ` (floor ${FLOOR[metric]} %)`}`);
process.stdout.write(`Coverage of src/ by the tests: ${figures.join(', ')}.\n`);
const below = METRICS.filter((metric) => FLOOR[metric] !== undefined && total[metric].pct < FLOOR[metric]);
if (below.length > 0) {
  for (const metric of below) {
    const { covered, total: all, pct } = total[metric];
    process.stderr.write(`Coverage of ${metric} is ${pct} % (${covered} of ${all}), below the floor of ${FLOOR[metric]} % (scripts/coverageFloor.ts).\n`);
  }
  process.stderr.write('Test what was added (`npx tap report` shows the lines no test runs), rather than lowering the floor.\n');
  process.exit(1);
}
