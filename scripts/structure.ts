// Prints three measures of the code's structure, so that a change of shape can be judged by
// numbers: the files of src/ over 250 lines, the import cycles in src/ (type imports
// included), and the files of src/ whose code runs while the service answers a first
// GET /api/token (a new user: the identity is created and its first token issued), in the
// order they were loaded. The last one is read from V8's precise coverage of that one
// request, in this process, against the emulators and a fresh test database.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestService } from '../test/helpers/testService.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LONG_FILE_LINES = 250;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function longFiles(): Array<{ file: string; lines: number }> {
  return sourceFiles(join(ROOT, 'src'))
    .map((path) => ({ file: relative(ROOT, path), lines: readFileSync(path, 'utf8').split('\n').length - 1 }))
    .filter(({ lines }) => lines > LONG_FILE_LINES)
    .sort((a, b) => b.lines - a.lines);
}

function importCycles(): string[][] {
  // madge exits with 1 when it finds a cycle: its JSON is read either way.
  const { stdout } = spawnSync('npx', ['--no-install', 'madge', '--circular', '--json', '--extensions', 'ts', '--ts-config', 'tsconfig.json', 'src'], {
    cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(stdout) as string[][];
}

/** The src/ files with a function called while `run` ran, in the order they were loaded. */
async function filesEntered(run: () => Promise<void>): Promise<string[]> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
  // Taking coverage resets the counters: what follows counts only `run`.
  await session.post('Profiler.takePreciseCoverage');
  await run();
  const { result } = await session.post('Profiler.takePreciseCoverage');
  await session.post('Profiler.stopPreciseCoverage');
  session.disconnect();
  const src = join(ROOT, 'src');
  return result
    .filter((script) => script.url.startsWith('file://') && script.functions.some((fn) => fn.ranges.some((range) => range.count > 0)))
    .map((script) => fileURLToPath(script.url))
    .filter((path) => path.startsWith(src))
    .map((path) => relative(ROOT, path));
}

async function firstTokenRequestPath(): Promise<string[]> {
  const teardowns: Array<() => unknown> = [];
  const svc = await startTestService({ teardown: (fn) => teardowns.push(fn) }, { LOG_LEVEL: 'silent' });
  try {
    // Another user first: what any first request pays once (signing keys, pools) is not counted.
    const warm = await svc.request({ url: '/api/token', token: svc.userToken() });
    if (warm.statusCode !== 200) throw new Error(`warm-up request answered ${warm.statusCode}`);
    let status = 0;
    const files = await filesEntered(async () => {
      status = (await svc.request({ url: '/api/token', token: svc.userToken() })).statusCode;
    });
    if (status !== 200) throw new Error(`first token request answered ${status}`);
    return files;
  } finally {
    for (const teardown of teardowns.reverse()) await teardown();
  }
}

const long = longFiles();
console.log(`Files of src/ over ${LONG_FILE_LINES} lines (generated types aside): ${long.length}`);
for (const { file, lines } of long) console.log(`  ${lines}  ${file}`);
const cycles = importCycles();
console.log(`Import cycles in src/ (type imports included): ${cycles.length}`);
for (const cycle of cycles) console.log(`  ${cycle.join(' > ')}`);
const path = await firstTokenRequestPath();
console.log(`Files of src/ whose code runs for a first GET /api/token: ${path.length}`);
for (const file of path) console.log(`  ${file}`);
