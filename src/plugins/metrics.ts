// Prometheus metrics: request counts and latency per route and status, plus what other
// plugins count (ACS calls, identities, tokens, auth failures, rate limits). GET /metrics is
// served here unless METRICS_PORT moves it to a port of its own; METRICS_TOKEN protects it.
import { timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import { httpServerOptions, limitConnections } from '../httpServerLimits.js';
import { Metrics } from '../metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
    /** Where /metrics listens when METRICS_PORT gives it a port of its own (else undefined). */
    readonly metricsAddress: string | undefined;
    /** Sets gauges that are read at scrape time (the pool's connections, the ACS circuit). */
    sampleAtScrape(sample: () => void): void;
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

// Connections of the metrics port: Prometheus keeps one per scraper.
const METRICS_MAX_CONNECTIONS = 16;

export default fp(async function metrics(app, { config, httpLimits }: { config: Config['metrics']; httpLimits: Config['http'] }) {
  const registry = new Metrics();
  app.decorate('metrics', registry);
  app.server.on('drop', () => registry.connectionsDropped.inc());
  // Filled in by the plugins whose state they sample (registered after this one).
  const samples: Array<() => void> = [];
  app.decorate('sampleAtScrape', (sample: () => void) => { samples.push(sample); });

  // Hooks on the request path take a callback: an async hook costs a promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) };
    registry.httpRequests.inc(labels);
    registry.httpDuration.observe(labels, reply.elapsedTime / 1000);
    done();
  });

  async function serveMetrics(request: FastifyRequest, reply: FastifyReply) {
    if (config.token) {
      const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
      if (!sameSecret(given, config.token)) {
        return reply.code(401).header('www-authenticate', 'Bearer realm="metrics"').type('text/plain').send('Unauthorized\n');
      }
    }
    for (const sample of samples) sample();
    return reply.type(registry.registry.contentType).send(await registry.registry.metrics());
  }

  let metricsAddress: string | undefined;
  app.decorate('metricsAddress', { getter: () => metricsAddress });
  if (config.port === undefined) {
    app.get('/metrics', { schema: { hide: true } }, serveMetrics);
    return;
  }
  // A port of its own, e.g. reachable by Prometheus inside the cluster only.
  const server: FastifyInstance = Fastify({ logger: false, ...httpServerOptions(httpLimits) });
  limitConnections(server.server, METRICS_MAX_CONNECTIONS);
  server.get('/metrics', serveMetrics);
  app.addHook('onReady', async () => { metricsAddress = await server.listen({ port: config.port!, host: config.host }); });
  app.addHook('onClose', () => server.close());
}, { name: 'metrics' });
