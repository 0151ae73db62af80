// Each service scenario runs between two runs of the floor, and its ratios are taken against
// their mean: this machine's speed drifts by tens of percent from one minute to the next, so
// only a floor measured seconds before and after says what "the same machine" could do.
// BENCH_ROUNDS > 1 runs the scenarios round after round; the table keeps, per scenario, the
// round with the median req/s, and each ratio is the median of the rounds' ratios.
import { runLoad, loadRow, serviceRow, type Row } from './load.js';
import { median, pids } from './processes.js';
import type { Stack } from './stack.js';

export interface Scenario {
  name: string;
  /** The service's path, e.g. /api/token. */
  path: string;
  headers: () => Record<string, string>;
  /** Stop after this many requests (a scenario that spends its tokens) instead of after the duration. */
  amount?: number;
}
export const RATIO_KEYS = ['req/s', 'p99 ms', 'CPU µs/req'] as const;
export type Ratios = Record<typeof RATIO_KEYS[number], number>;

export interface FloorOptions { connections: number; seconds: number; rounds: number; floorHeaders: () => Record<string, string> }

export async function runBetweenFloors(stack: Stack, scenarios: Scenario[], options: FloorOptions) {
  const { connections, seconds } = options;
  const runFloor = async () => loadRow('floor', await runLoad({ url: `${stack.floorUrl}/verify`, headers: options.floorHeaders, connections, seconds }, pids.get('floor')!));
  const ratiosByScenario = new Map<string, Ratios[]>();
  const rounds: Row[][] = [];
  let floorBefore: Row | undefined;
  // Runs `scenario` and then the floor, into `rows`; its ratios are to the floors on each side.
  const bracket = async (scenario: Scenario, rows: Row[]) => {
    floorBefore ??= await runFloor();
    if (rows.length === 0) rows.push(floorBefore);
    const load = { url: `${stack.serviceUrl}${scenario.path}`, headers: scenario.headers, connections, seconds, ...(scenario.amount ? { amount: scenario.amount } : {}) };
    const row = await serviceRow(stack, scenario.name, load);
    process.stdout.write(`${scenario.name}: ${row['req/s']} req/s, ${row['CPU µs/req']} CPU µs/req\n`);
    const floorAfter = await runFloor();
    const ratios = Object.fromEntries(RATIO_KEYS.map((key) =>
      [key, (row[key] as number) / (((floorBefore![key] as number) + (floorAfter[key] as number)) / 2)])) as Ratios;
    ratiosByScenario.set(scenario.name, [...(ratiosByScenario.get(scenario.name) ?? []), ratios]);
    rows.push(row, floorAfter);
    floorBefore = floorAfter;
  };
  for (let round = 0; round < options.rounds; round++) {
    const rows: Row[] = [];
    floorBefore = undefined;
    for (const scenario of scenarios) await bracket(scenario, rows);
    rounds.push(rows);
  }
  const results = [...new Set(rounds.flat().map((row) => row.scenario as string))].map((name) => {
    const runs = rounds.flatMap((rows) => rows.filter((row) => row.scenario === name));
    return runs.sort((a, b) => (a['req/s'] as number) - (b['req/s'] as number))[Math.floor((runs.length - 1) / 2)]!;
  });
  /** The median over rounds of a scenario's ratio to the floor, or undefined if it did not run. */
  const ratio = (name: string, key: typeof RATIO_KEYS[number]) => {
    const perRound = ratiosByScenario.get(name);
    return perRound ? +median(perRound.map((ratios) => ratios[key]))!.toFixed(2) : undefined;
  };
  // Every round's ratios, to show how far they spread.
  const spread = [...ratiosByScenario].map(([name, perRound]) =>
    `  ${name}: ${perRound.map((ratios) => RATIO_KEYS.map((key) => `${key} ${ratios[key].toFixed(2)}`).join(', ')).join(' | ')}`).join('\n');
  return { results, ratio, ratiosByRound: Object.fromEntries(ratiosByScenario), spread };
}
