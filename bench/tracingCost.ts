// 'tracing cost': what tracing costs the warm path. Three more service processes, started like the
// image's (the bootstrap first) and differing only in their telemetry variables: tracing off (no
// exporter), on with OTEL_TRACES_SAMPLER_ARG=0.1, and on at 1. They export traces over OTLP/HTTP
// (metrics off: tracing alone is measured) to a sink in this process that reads every request
// and answers 200, counting the bytes each setting sent. The warm load runs against each in turn,
// round after round (off, 0.1, 1, off, …), and each figure is compared with the same round's off.
// BENCH_TRACING_COUNT=instructions counts the instructions each warm request executes instead
// (the services run under valgrind: bench/callgrind.ts), a measure the machine's load hardly moves.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { callgrindPrefix, instructionsPerRequest } from './callgrind.js';
import { loadRow, runLoad, type Row } from './load.js';
import { children, median, pids } from './processes.js';
import { projectFile } from '../src/projectFiles.js';
import type { Stack } from './stack.js';

const BY_INSTRUCTIONS = process.env.BENCH_TRACING_COUNT === 'instructions';
const KEYS = BY_INSTRUCTIONS ? ['instructions/req'] : ['req/s', 'CPU µs/req', 'p99 ms'];
/** What the cost of tracing is judged by. */
export const TRACING_COST_KEY = BY_INSTRUCTIONS ? 'instructions/req' : 'CPU µs/req';
// Under valgrind: requests run uncounted first (so that V8 has compiled the hot path), then counted.
// A warm request is one of a service in its steady state: at ratio 0.1 only a tenth of these are
// kept, and the code of kept requests must have been optimised too, so the warm-up is long.
// BENCH_TRACING_WARM_REQUESTS sets how many.
const UNCOUNTED_REQUESTS = Number(process.env.BENCH_TRACING_WARM_REQUESTS ?? 40_000);
const COUNTED_REQUESTS = 4000;
const COUNTED_CONNECTIONS = 10;
// In this order (an object's keys would put '1' first): each round's first run is off.
// BENCH_TRACING_SETTINGS (a comma list of ratios after off) measures others, 0 for example.
const SETTINGS = ['off', ...(process.env.BENCH_TRACING_SETTINGS?.split(',').map((ratio) => ratio.trim()) ?? ['0.1', '1'])];

/** An OTLP/HTTP receiver that keeps nothing: bytes and requests received, by the endpoint's first path segment. */
async function startSink() {
  const received = new Map<string, { requests: number; bytes: number }>();
  const server = createServer((request, response) => {
    const setting = decodeURIComponent(request.url!.split('/')[1]!);
    const counts = received.get(setting) ?? { requests: 0, bytes: 0 };
    received.set(setting, counts);
    counts.requests++;
    request.on('data', (chunk: Buffer) => { counts.bytes += chunk.length; });
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(resolve)) };
}

export interface TracingCostOptions {
  seconds: number;
  connections: number;
  rounds: number;
  headers: () => Record<string, string>;
  /** Serves each user of `headers` once from the service at `url`, so that its reuse cache holds their tokens. */
  warmUp: (url: string) => Promise<void>;
}

const callgrindFile = (setting: string) => projectFile('bench', 'logs', `callgrind-tracing-${setting}.out`);

/** One measurement of a setting's service: a load of BENCH_SECONDS, or a counted number of requests. */
async function measure(stack: Stack, setting: string, url: string, round: number, options: TracingCostOptions): Promise<Row> {
  const pid = pids.get(`service-tracing-${setting}`)!;
  const load = { url: `${url}/api/token`, headers: options.headers, connections: options.connections, seconds: options.seconds };
  if (!BY_INSTRUCTIONS) return loadRow(`tracing ${setting}, round ${round}`, await runLoad(load, pid));
  const counted = { ...load, connections: COUNTED_CONNECTIONS, amount: COUNTED_REQUESTS, seconds: 3600 };
  const name = `tracing ${setting}, round ${round}`;
  return { scenario: name, 'instructions/req': await instructionsPerRequest(pid, stack.serviceEnv, callgrindFile(setting), counted, 200, name) };
}

export async function runTracingCost(stack: Stack, options: TracingCostOptions) {
  const sink = await startSink();
  const services = new Map<string, string>();
  for (const setting of SETTINGS) {
    const exporter: Record<string, string> = setting === 'off' ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: `${sink.url}/${setting}`, OTEL_METRICS_EXPORTER: 'none', OTEL_TRACES_SAMPLER_ARG: setting };
    // Under valgrind the event loop always lags: the service must not shed the counted load.
    const prefix = BY_INSTRUCTIONS ? { command: 'valgrind', args: callgrindPrefix(callgrindFile(setting)) } : undefined;
    if (BY_INSTRUCTIONS) exporter.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS = '0';
    const url = await stack.startService(`service-tracing-${setting}`, exporter, { prefix });
    await options.warmUp(url);
    if (BY_INSTRUCTIONS) {
      const uncounted = { url: `${url}/api/token`, headers: options.headers, connections: COUNTED_CONNECTIONS, seconds: 3600, amount: UNCOUNTED_REQUESTS };
      await runLoad(uncounted, pids.get(`service-tracing-${setting}`)!);
    }
    services.set(setting, url);
  }
  const rows: Row[] = [];
  const ratios = new Map<string, number[]>();
  for (let round = 1; round <= options.rounds; round++) {
    let off: Row | undefined;
    for (const [setting, url] of services) {
      const row = await measure(stack, setting, url, round, options);
      off ??= row;
      for (const key of KEYS) {
        const ratio = (row[key] as number) / (off[key] as number);
        row[`${key} vs off`] = +ratio.toFixed(2);
        ratios.set(`${setting} ${key}`, [...(ratios.get(`${setting} ${key}`) ?? []), ratio]);
      }
      process.stdout.write(`${row.scenario}: ${KEYS.map((key) => `${row[key]} ${key}`).join(', ')}\n`);
      rows.push(row);
    }
  }
  // SIGTERM makes each service send the spans it still holds: then the sink's counts are complete.
  for (const setting of services.keys()) {
    const child = children.find((each) => each.pid === pids.get(`service-tracing-${setting}`))!;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  await sink.close();
  const exported = Object.fromEntries([...services.keys()].map((setting) => [setting, sink.received.get(setting) ?? { requests: 0, bytes: 0 }]));
  /** The median over rounds of a setting's ratio to off. */
  const ratio = (setting: string, key: string) => +median(ratios.get(`${setting} ${key}`) ?? [Number.NaN])!.toFixed(2);
  return { rows, exported, ratio };
}

