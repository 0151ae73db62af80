// 'tracing cost': what tracing costs the warm path. Three more service processes, started like the
// image's (the bootstrap first) and differing only in their telemetry variables: tracing off (no
// exporter), on with OTEL_TRACES_SAMPLER_ARG=0.1, and on at 1. They export traces over OTLP/HTTP
// (metrics off: tracing alone is measured) to a sink in this process that reads every request
// and answers 200, counting the bytes each setting sent. The warm load runs against each in turn,
// round after round (off, 0.1, 1, off, …), and each figure is compared with the same round's off.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadRow, runLoad, type Row } from './load.js';
import { children, median, pids } from './processes.js';
import type { Stack } from './stack.js';

const KEYS = ['req/s', 'CPU µs/req', 'p99 ms'] as const;
// In this order (an object's keys would put '1' first): each round's first run is off.
const SETTINGS = ['off', '0.1', '1'];

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
  /** Serves each warm user once from the service at `url`, so that its reuse cache holds their tokens. */
  warmUp: (url: string) => Promise<void>;
}

export async function runTracingCost(stack: Stack, options: TracingCostOptions) {
  const sink = await startSink();
  const services = new Map<string, string>();
  for (const setting of SETTINGS) {
    const exporter: Record<string, string> = setting === 'off' ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: `${sink.url}/${setting}`, OTEL_METRICS_EXPORTER: 'none', OTEL_TRACES_SAMPLER_ARG: setting };
    const url = await stack.startService(`service-tracing-${setting}`, exporter);
    await options.warmUp(url);
    services.set(setting, url);
  }
  const rows: Row[] = [];
  const ratios = new Map<string, number[]>();
  for (let round = 1; round <= options.rounds; round++) {
    let off: Row | undefined;
    for (const [setting, url] of services) {
      const load = { url: `${url}/api/token`, headers: options.headers, connections: options.connections, seconds: options.seconds };
      const row = loadRow(`tracing ${setting}, round ${round}`, await runLoad(load, pids.get(`service-tracing-${setting}`)!));
      off ??= row;
      for (const key of KEYS) {
        const ratio = (row[key] as number) / (off[key] as number);
        row[`${key} vs off`] = +ratio.toFixed(2);
        ratios.set(`${setting} ${key}`, [...(ratios.get(`${setting} ${key}`) ?? []), ratio]);
      }
      process.stdout.write(`tracing ${setting}, round ${round}: ${row['req/s']} req/s, ${row['CPU µs/req']} CPU µs/req, p99 ${row['p99 ms']} ms\n`);
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
  const ratio = (setting: string, key: typeof KEYS[number]) => +median(ratios.get(`${setting} ${key}`) ?? [Number.NaN])!.toFixed(2);
  return { rows, exported, ratio };
}

