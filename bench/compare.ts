// BENCH_COMPARE_DIST=<another checkout's dist>: that build ("base") and this one ("branch") as
// two service processes in the same stack (same database, emulators and floor), each chosen
// scenario run in short bursts (BENCH_COMPARE_SECONDS, 3) against the floor, base and branch in
// turn, for BENCH_ROUNDS rounds (base and branch swap places every other round, so neither always
// runs right after the floor). Per round, each one's CPU µs per request; reported: the medians
// over rounds of base/floor, branch/floor and branch/base. With this checkout's own dist as the
// base (an A/A run), branch/base must come out near 1.00, or the set-up is biased. Refusal
// scenarios (forged …) also run the floor server's bare 401 (the service's refusal, with
// nothing done for it): how close a refusal is to what Fastify alone costs; and the same answer
// from node:http before Fastify: what answering at all costs.
// BENCH_COMPARE_COUNT=instructions counts the instructions of each request instead of timing it:
// base, branch and a floor server (which also answers both bare 401s) run under valgrind
// (bench/callgrind.ts); each target serves BENCH_COMPARE_UNCOUNTED (10 000) requests of the
// scenario uncounted, then BENCH_COMPARE_COUNTED (3 000) counted per round, over 10 connections
// (BENCH_COMPARE_SECONDS and BENCH_CONNECTIONS do not apply). The main thread's user-space
// instructions only (a socket write's time in the kernel is not counted), but the machine's load
// moves them far less than it moves CPU time (bench/RESULTS.md).
import { callgrindPrefix, instructionsPerRequest } from './callgrind.js';
import { loadRow, runLoad, type Row } from './load.js';
import { median, pids } from './processes.js';
import { projectFile } from '../src/projectFiles.js';
import type { Scenario } from './floor.js';
import type { Stack } from './stack.js';

export interface CompareOptions {
  dist: string;
  seconds: number;
  connections: number;
  rounds: number;
  floorHeaders: () => Record<string, string>;
  /** Serves each warm user once from the service at `url`. */
  warmUp: (url: string) => Promise<void>;
}

const BY_INSTRUCTIONS = process.env.BENCH_COMPARE_COUNT === 'instructions';
const KEY = BY_INSTRUCTIONS ? 'instructions/req' : 'CPU µs/req';
const UNCOUNTED_REQUESTS = Number(process.env.BENCH_COMPARE_UNCOUNTED ?? 10_000);
const COUNTED_REQUESTS = Number(process.env.BENCH_COMPARE_COUNTED ?? 3000);
const COUNTED_CONNECTIONS = 10;

type Target = { url: string; pid: () => number; env: Record<string, string | undefined>; outFile: string };

/** Floor, the bare 401s, base and branch: timed in the stack's processes, or counted in processes of their own under valgrind. */
async function startTargets(stack: Stack, dist: string) {
  const outFile = (name: string) => projectFile('bench', 'logs', `callgrind-compare-${name}.out`);
  const prefix = (name: string) => (BY_INSTRUCTIONS ? { command: 'valgrind', args: callgrindPrefix(outFile(name)) } : undefined);
  // Under valgrind the event loop always lags: the services must not shed the counted load.
  const env: Record<string, string> = BY_INSTRUCTIONS ? { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' } : {};
  const baseUrl = await stack.startService('service-base', env, { dist, prefix: prefix('base') });
  const branchUrl = BY_INSTRUCTIONS ? await stack.startService('service-branch', env, { prefix: prefix('branch') }) : stack.serviceUrl;
  const floorUrl = BY_INSTRUCTIONS ? await stack.startFloor('floor-counted', prefix('floor')) : stack.floorUrl;
  const floorPid = () => pids.get(BY_INSTRUCTIONS ? 'floor-counted' : 'floor')!;
  // callgrind_control finds a process by the user and host its environment names: the floor's has neither.
  const serviceEnv = { ...stack.serviceEnv, ...env };
  return {
    floor: { url: `${floorUrl}/verify`, pid: floorPid, env: {}, outFile: outFile('floor') },
    'bare 401': { url: `${floorUrl}/refuse`, pid: floorPid, env: {}, outFile: outFile('floor') },
    'node:http 401': { url: `${floorUrl}/node-http-401`, pid: floorPid, env: {}, outFile: outFile('floor') },
    base: { url: baseUrl, pid: () => pids.get('service-base')!, env: serviceEnv, outFile: outFile('base') },
    branch: { url: branchUrl, pid: () => (BY_INSTRUCTIONS ? pids.get('service-branch')! : stack.servicePid()), env: serviceEnv, outFile: outFile('branch') },
  } satisfies Record<string, Target>;
}

/** One target's figure for a scenario: CPU µs per request over a timed burst, or instructions per request over a counted load. */
async function measure(name: string, target: Target, url: string, headers: () => Record<string, string>, expectedStatus: number, options: CompareOptions): Promise<Row> {
  const pid = target.pid();
  if (!BY_INSTRUCTIONS) return loadRow(name, await runLoad({ url, headers, connections: options.connections, seconds: options.seconds }, pid));
  const counted = { url, headers, connections: COUNTED_CONNECTIONS, seconds: 3600, amount: COUNTED_REQUESTS };
  return { scenario: name, [KEY]: await instructionsPerRequest(pid, target.env, target.outFile, counted, expectedStatus, name) };
}

export async function runCompare(stack: Stack, scenarios: Scenario[], options: CompareOptions) {
  const targets = await startTargets(stack, options.dist);
  await options.warmUp(targets.base.url);
  if (BY_INSTRUCTIONS) await options.warmUp(targets.branch.url);
  const unit = BY_INSTRUCTIONS ? 'instr' : 'µs';
  const rows: Row[] = [];
  const summary: Row[] = [];
  for (const scenario of scenarios) {
    const ratios = { 'base/floor': [] as number[], 'branch/floor': [] as number[], 'branch/base': [] as number[] };
    const cpu: Record<keyof typeof targets, number[]> = { floor: [], 'bare 401': [], 'node:http 401': [], base: [], branch: [] };
    const refusal = scenario.name.startsWith('forged');
    const floors = refusal ? (['floor', 'bare 401', 'node:http 401'] as const) : (['floor'] as const);
    const urlOf = (name: keyof typeof targets) => (name === 'base' || name === 'branch' ? `${targets[name].url}${scenario.path}` : targets[name].url);
    const headersOf = (name: keyof typeof targets) => (name === 'floor' ? options.floorHeaders : scenario.headers);
    // Counted: V8 has compiled each target's path for this scenario before the first count, and
    // each count must be answered as the uncounted requests mostly were (a 401 for a refusal).
    const expected: Partial<Record<keyof typeof targets, number>> = {};
    if (BY_INSTRUCTIONS) {
      for (const name of [...floors, 'base', 'branch'] as const) {
        const { latencies } = await runLoad({ url: urlOf(name), headers: headersOf(name), connections: COUNTED_CONNECTIONS, seconds: 3600, amount: UNCOUNTED_REQUESTS }, targets[name].pid());
        expected[name] = [...latencies].sort(([, a], [, b]) => b.length - a.length)[0]?.[0];
      }
    }
    for (let round = 1; round <= options.rounds; round++) {
      const services = round % 2 === 1 ? (['base', 'branch'] as const) : (['branch', 'base'] as const);
      const order = [...floors, ...services];
      const perRound: Partial<Record<keyof typeof targets, number>> = {};
      for (const name of order) {
        const row = await measure(`${scenario.name}: ${name}, round ${round}`, targets[name], urlOf(name), headersOf(name), expected[name] ?? 0, options);
        perRound[name] = row[KEY] as number;
        cpu[name].push(perRound[name]);
        rows.push(row);
      }
      ratios['base/floor'].push(perRound.base! / perRound.floor!);
      ratios['branch/floor'].push(perRound.branch! / perRound.floor!);
      ratios['branch/base'].push(perRound.branch! / perRound.base!);
      process.stdout.write(`${scenario.name}, round ${round}: ${KEY} ${order.map((name) => `${name} ${perRound[name]}`).join(', ')}\n`);
    }
    summary.push({
      scenario: scenario.name,
      [`floor ${unit}`]: median(cpu.floor)!, [`bare 401 ${unit}`]: refusal ? median(cpu['bare 401'])! : '',
      [`node:http 401 ${unit}`]: refusal ? median(cpu['node:http 401'])! : '', [`base ${unit}`]: median(cpu.base)!, [`branch ${unit}`]: median(cpu.branch)!,
      ...Object.fromEntries(Object.entries(ratios).map(([key, list]) => [key, +median(list)!.toFixed(2)])),
    });
  }
  return { rows, summary };
}
