// One load run with autocannon, and what it is reported as: req/s, latency from every
// response's own time (to 0.01 ms: autocannon's histogram keeps whole milliseconds, and the
// floor answers in less than one), the server's CPU time per request, and for the service its
// ACS calls, database statements and memory.
import autocannon from 'autocannon';
import { cpuMsOfPid } from './processes.js';
import type { Stack } from './stack.js';

export interface Load {
  url: string;
  headers: () => Record<string, string>;
  connections: number;
  seconds: number;
  /** Stop after this many requests instead of after `seconds`. */
  amount?: number;
  /** Requests per second offered, over all connections (default: as fast as answered). */
  overallRate?: number;
}
export interface LoadResult {
  result: autocannon.Result;
  /** Response times in ms, sorted, by status code. */
  latencies: Map<number, number[]>;
  cpuMs: number;
}
export type Row = Record<string, string | number>;

export async function runLoad(load: Load, pid: number): Promise<LoadResult> {
  const latencies = new Map<number, number[]>();
  const cpuBefore = cpuMsOfPid(pid);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: load.url,
      // autocannon refuses more connections than requests.
      connections: load.amount ? Math.min(load.connections, load.amount) : load.connections,
      duration: load.seconds,
      ...(load.amount ? { amount: load.amount } : {}),
      ...(load.overallRate ? { overallRate: load.overallRate } : {}),
      requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...load.headers() } }) }],
    }, (error: Error | null, done) => (error ? reject(error) : resolve(done)));
    instance.on('response', (_client, status: number, _bytes, ms: number) => {
      const list = latencies.get(status);
      if (list) list.push(ms);
      else latencies.set(status, [ms]);
    });
  });
  for (const list of latencies.values()) list.sort((a, b) => a - b);
  return { result, latencies, cpuMs: cpuMsOfPid(pid) - cpuBefore };
}

/** The `p` quantile of sorted values, to 0.01. */
export const percentile = (sorted: number[], p: number) => +(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(2);
export const allLatencies = (latencies: Map<number, number[]>) => [...latencies.values()].flat().sort((a, b) => a - b);

/** A scenario's row: req/s, latency, errors and the server's CPU µs per request. */
export function loadRow(name: string, { result, latencies, cpuMs }: LoadResult): Row {
  const all = allLatencies(latencies);
  return {
    scenario: name,
    'req/s': Math.round(result.requests.average),
    'p50 ms': percentile(all, 0.5),
    'p99 ms': percentile(all, 0.99),
    'max ms': +(all.at(-1) ?? 0).toFixed(2),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    // What was answered, e.g. "401×15356": that a refusal scenario was refused as meant.
    statuses: [...latencies].sort(([a], [b]) => a - b).map(([status, list]) => `${status}×${list.length}`).join(' '),
    // The server's own CPU time per request: steadier than req/s on a machine whose speed drifts.
    'CPU µs/req': Math.round((cpuMs * 1000) / Math.max(1, result.requests.total)),
  };
}

/** Runs `load` against the service and adds its ACS calls, statements and memory to the row. */
export async function serviceRow(stack: Stack, name: string, load: Load): Promise<Row> {
  const [acsBefore, queriesBefore, rssBefore] = await Promise.all([stack.acsCounters(), stack.queries(), stack.rssMb()]);
  const run = await runLoad(load, stack.servicePid());
  const [acsAfter, queriesAfter, rssAfter] = await Promise.all([stack.acsCounters(), stack.queries(), stack.rssMb()]);
  const requests = Math.max(1, run.result.requests.total);
  return {
    ...loadRow(name, run),
    // HTTP requests that reached ACS: what counts against its quota.
    'ACS calls/req': +((acsAfter.requests! - acsBefore.requests!) / requests).toFixed(3),
    'DB queries/req': +((queriesAfter - queriesBefore) / requests).toFixed(3),
    'RSS MB before→after': `${rssBefore}→${rssAfter}`,
  };
}
