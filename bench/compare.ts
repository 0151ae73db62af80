// BENCH_COMPARE_DIST=<another checkout's dist>: that build ("base") and this one ("branch") as
// two service processes in the same stack (same database, emulators and floor), each chosen
// scenario run in short bursts (BENCH_COMPARE_SECONDS, 3) against the floor, base and branch in
// turn, for BENCH_ROUNDS rounds (base and branch swap places every other round, so neither always
// runs right after the floor). Per round, each one's CPU µs per request; reported: the medians
// over rounds of base/floor, branch/floor and branch/base. With this checkout's own dist as the
// base (an A/A run), branch/base must come out near 1.00, or the set-up is biased. Refusal
// scenarios (forged …) also run the floor server's bare 401 (the service's refusal, with
// nothing done for it): how close a refusal is to what Fastify alone costs.
import { loadRow, runLoad, type Row } from './load.js';
import { median, pids } from './processes.js';
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

export async function runCompare(stack: Stack, scenarios: Scenario[], options: CompareOptions) {
  const baseUrl = await stack.startService('service-base', {}, { dist: options.dist });
  await options.warmUp(baseUrl);
  const { connections, seconds } = options;
  const targets = {
    floor: { url: `${stack.floorUrl}/verify`, pid: () => pids.get('floor')! },
    'bare 401': { url: `${stack.floorUrl}/refuse`, pid: () => pids.get('floor')! },
    base: { url: baseUrl, pid: () => pids.get('service-base')! },
    branch: { url: stack.serviceUrl, pid: () => stack.servicePid() },
  };
  const rows: Row[] = [];
  const summary: Row[] = [];
  for (const scenario of scenarios) {
    const ratios = { 'base/floor': [] as number[], 'branch/floor': [] as number[], 'branch/base': [] as number[] };
    const cpu: Record<keyof typeof targets, number[]> = { floor: [], 'bare 401': [], base: [], branch: [] };
    const refusal = scenario.name.startsWith('forged');
    for (let round = 1; round <= options.rounds; round++) {
      const services = round % 2 === 1 ? (['base', 'branch'] as const) : (['branch', 'base'] as const);
      const order = [...(refusal ? (['floor', 'bare 401'] as const) : (['floor'] as const)), ...services];
      const perRound: Partial<Record<keyof typeof targets, number>> = {};
      for (const name of order) {
        const target = targets[name];
        const url = name === 'floor' || name === 'bare 401' ? target.url : `${target.url}${scenario.path}`;
        const headers = name === 'floor' ? options.floorHeaders : scenario.headers;
        const row = loadRow(`${scenario.name}: ${name}, round ${round}`, await runLoad({ url, headers, connections, seconds }, target.pid()));
        perRound[name] = row['CPU µs/req'] as number;
        cpu[name].push(perRound[name]);
        rows.push(row);
      }
      ratios['base/floor'].push(perRound.base! / perRound.floor!);
      ratios['branch/floor'].push(perRound.branch! / perRound.floor!);
      ratios['branch/base'].push(perRound.branch! / perRound.base!);
      process.stdout.write(`${scenario.name}, round ${round}: CPU µs/req ${order.map((name) => `${name} ${perRound[name]}`).join(', ')}\n`);
    }
    summary.push({
      scenario: scenario.name,
      'floor µs': median(cpu.floor)!, 'bare 401 µs': refusal ? median(cpu['bare 401'])! : '', 'base µs': median(cpu.base)!, 'branch µs': median(cpu.branch)!,
      ...Object.fromEntries(Object.entries(ratios).map(([key, list]) => [key, +median(list)!.toFixed(2)])),
    });
  }
  return { rows, summary };
}
