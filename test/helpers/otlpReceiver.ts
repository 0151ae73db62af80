// A small OTLP/HTTP receiver for tests: takes what an exporter sends as http/json to
// /v1/traces and /v1/metrics, keeps every byte received (on any path: Azure Monitor's
// exporter can be pointed here too), and decodes the spans.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { gunzipSync } from 'node:zlib';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

type AnyValue = { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean | undefined>;
  /** OTLP's status (code 2: error; absent or 0: unset) and events, as sent. */
  status?: { code?: number; message?: string };
  events?: Array<{ name: string }>;
}

export interface OtlpReceiver {
  /** http://127.0.0.1:PORT, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  /** Every request body received so far, as text. */
  received(): string;
  /** The path (with query) of every request received so far. */
  paths(): string[];
  spans(): ReceivedSpan[];
  /** The names of the metrics received so far. */
  metricNames(): Set<string>;
  /** Waits until `check` holds (or `ms` pass) and says whether it did. */
  waitFor(check: () => boolean, ms?: number): Promise<boolean>;
  close(): Promise<void>;
}

const valueOf = (value: AnyValue | undefined) =>
  value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue)) ?? value?.doubleValue ?? value?.boolValue;

interface TracesBody {
  resourceSpans?: { scopeSpans?: { spans?: (Omit<ReceivedSpan, 'attributes'> & { attributes?: { key: string; value: AnyValue }[] })[] }[] }[];
}
interface MetricsBody {
  resourceMetrics?: { scopeMetrics?: { metrics?: { name: string }[] }[] }[];
}

/**
 * `tls`: serve HTTPS with this key and certificate (Azure Monitor's exporter sends only HTTPS);
 * `status`: the answer to every request (another than 200 refuses what was sent).
 */
export async function startOtlpReceiver(tls?: { key: string; cert: string }, status = 200): Promise<OtlpReceiver> {
  const bodies: string[] = [];
  const paths: string[] = [];
  const spans: ReceivedSpan[] = [];
  const metricNames = new Set<string>();
  const receive = (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    paths.push(request.url ?? '');
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      // Azure Monitor's exporter sends gzip; OTLP's sends plain bodies here.
      const body = Buffer.concat(chunks);
      const text = (request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
      bodies.push(text);
      try {
        if (request.url === '/v1/traces') {
          for (const { scopeSpans = [] } of (JSON.parse(text) as TracesBody).resourceSpans ?? []) {
            for (const { spans: list = [] } of scopeSpans) {
              for (const { attributes = [], parentSpanId, ...span } of list) {
                spans.push({ ...span, parentSpanId: parentSpanId || undefined, attributes: Object.fromEntries(attributes.map(({ key, value }) => [key, valueOf(value)])) });
              }
            }
          }
        } else if (request.url === '/v1/metrics') {
          for (const { scopeMetrics = [] } of (JSON.parse(text) as MetricsBody).resourceMetrics ?? []) {
            for (const { metrics = [] } of scopeMetrics) for (const { name } of metrics) metricNames.add(name);
          }
        }
      } catch {
        // Not JSON (another protocol): the bytes are kept, nothing is decoded.
      }
      response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  };
  const server = tls ? createHttpsServer(tls, receive) : createServer(receive);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => bodies.join('\n'),
    paths: () => [...paths],
    spans: () => [...spans],
    metricNames: () => metricNames,
    async waitFor(check, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      return check();
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
