// After the tests (npm test runs it after tap): the share of src/ the suite ran must not fall
// below FLOOR. tap's own thresholds (`lines:` in .taprc) would apply to every run, one test
// file's too, and fail without a word under the text report; this applies to the whole suite
// and says which figure fell. It reads tap's summary of the coverage the last run recorded.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { projectFile } from '../src/projectFiles.js';

/** The floor, in % (the one place it is set): a little under what the suite covers. */
const FLOOR: Partial<Record<Metric, number>> = { lines: 98 };

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
type Figure = { total: number; covered: number; pct: number };
const summary = JSON.parse(readFileSync(projectFile('.tap', 'report', 'coverage-summary.json'), 'utf8')) as Record<string, Record<Metric, Figure>>;

// tap's own total counts every project file a test loaded (the emulators too): add up src/'s.
const srcPrefix = `${projectFile('src')}/`;
const srcFiles = Object.entries(summary).filter(([file]) => file.startsWith(srcPrefix)).map(([, figures]) => figures);
if (srcFiles.length === 0) {
  process.stderr.write('tap recorded no coverage of src/: was the last tap run without coverage?\n');
  process.exit(1);
}
const total = Object.fromEntries(METRICS.map((metric) => {
  const covered = srcFiles.reduce((sum, figures) => sum + figures[metric].covered, 0);
  const all = srcFiles.reduce((sum, figures) => sum + figures[metric].total, 0);
  return [metric, { covered, total: all, pct: all === 0 ? 100 : Math.floor((covered / all) * 10_000) / 100 }];
})) as Record<Metric, Figure>;

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
