// Probes on a port of their own when PROBE_PORT is set: Kubernetes' probes then never wait
// behind the API's connections (HTTP_MAX_CONNECTIONS), and /healthz and /readyz are not on the
// API port, so they are not reachable through an ingress. The probe port's server hands its
// requests to the same app (same handlers, hooks, metrics and shutdown); a hook answers 404
// to a probe on the API port and to anything else on the probe port.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import fp from 'fastify-plugin';
import type { Config } from '../config/index.js';
import { httpServerOptions, limitConnections } from '../httpServerLimits.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Where the probes listen when PROBE_PORT gives them a port of their own (else undefined). */
    readonly probeAddress: string | undefined;
  }
}

export const PROBE_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);
// Kubelet opens a connection per probe and closes it after the answer: a few at a time.
const PROBE_MAX_CONNECTIONS = 16;

export default fp(async function probes(app, { port, host, httpLimits }: { port: number | undefined; host: string; httpLimits: Config['http'] }) {
  let probeAddress: string | undefined;
  app.decorate('probeAddress', { getter: () => probeAddress });
  if (port === undefined) return;

  const fromProbePort = new WeakSet<IncomingMessage>();
  const { http, keepAliveTimeout } = httpServerOptions(httpLimits);
  const server = createServer({ ...http, keepAliveTimeout }, (request, response) => {
    fromProbePort.add(request);
    app.routing(request, response);
  });
  limitConnections(server, PROBE_MAX_CONNECTIONS);

  app.addHook('onRequest', (request, reply, done) => {
    if (!request.is404 && PROBE_ROUTES.has(request.routeOptions.url ?? '') !== fromProbePort.has(request.raw)) {
      reply.callNotFound();
      return;
    }
    done();
  });
  app.addHook('onReady', async () => {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
    const address = server.address() as AddressInfo;
    probeAddress = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  });
  app.addHook('onClose', async () => {
    if (!server.listening) return;
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeIdleConnections();
    await closed;
  });
}, { name: 'probes' });
