// 'overload': warm GET /api/token offered at 2× and 4× the rate the service sustains (the warm
// scenario's req/s), over 4× the connections, at a fixed rate (autocannon's overallRate). Per
// level: how many responses were 503 (shed, if the service sheds load), the p99 of the
// admitted (200) ones, and the service's memory before and after. It reports what happens,
// whether or not the service sheds.
import { percentile, runLoad, type Row } from './load.js';
import type { Stack } from './stack.js';

export interface OverloadOptions { sustainable: number; connections: number; seconds: number; headers: () => Record<string, string> }

export async function runOverload(stack: Stack, { sustainable, connections, seconds, headers }: OverloadOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const factor of [2, 4]) {
    const offered = Math.round(sustainable * factor);
    const rssBefore = await stack.rssMb();
    const run = await runLoad({ url: `${stack.serviceUrl}/api/token`, headers, connections: connections * 4, seconds, overallRate: offered }, stack.servicePid());
    const rssAfter = await stack.rssMb();
    const answered = [...run.latencies.values()].reduce((sum, list) => sum + list.length, 0);
    const ok = run.latencies.get(200) ?? [];
    const shed = run.latencies.get(503)?.length ?? 0;
    const other = answered - ok.length - shed;
    const row: Row = {
      level: `${factor}× (${offered} req/s offered)`,
      'answered req/s': Math.round(answered / seconds),
      '200 req/s': Math.round(ok.length / seconds),
      'shed (503) %': +((100 * shed) / Math.max(1, answered)).toFixed(1),
      'other statuses': other,
      'errors, timeouts': run.result.errors + run.result.timeouts,
      'p50 of 200 ms': percentile(ok, 0.5),
      'p99 of 200 ms': percentile(ok, 0.99),
      'CPU µs/req': Math.round((run.cpuMs * 1000) / Math.max(1, answered)),
      'RSS MB before→after': `${rssBefore}→${rssAfter}`,
    };
    process.stdout.write(`overload ${row.level}: ${row['shed (503) %']} % shed, p99 of 200 ${row['p99 of 200 ms']} ms\n`);
    rows.push(row);
    // The service settles before the next level (its lag, its memory).
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
  return rows;
}
