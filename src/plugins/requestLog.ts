// One structured log line per request: route, status, latency, request id, the caller as a
// keyed hash (never the token, never the clear user key), and for a refusal its code and detail.
// Refusals of callers who were not identified (bad or missing tokens, the per-IP limit,
// unknown routes) come in floods: each client address gets UNIDENTIFIED_REFUSAL_LINES_PER_SECOND
// lines a second, its other refusals are counted and summed up in one line a second. So a
// flood hides only its own lines, not other clients'. Requests shed while the replica is
// overloaded are budgeted alike: a line each would add to the load. Metrics count every request;
// other server errors (5xx) and identified callers are always logged. Probes (/healthz, /readyz) come every
// few seconds from every kubelet: a success is not logged at all, a failure within the same
// per-client budget.
import fp from 'fastify-plugin';
import type { Caller } from '../auth/caller.js';
import { PROBE_ROUTES } from './probes.js';
import { clientAddress } from './rateLimits.js';

export const UNIDENTIFIED_REFUSAL_LINES_PER_SECOND = 20;
/**
 * Client addresses with a budget in one second; beyond, a new address gets none: a flood spread
 * over many addresses writes at most this many times the budget a second.
 */
const MAX_CLIENTS_PER_SECOND = 1000;

export default fp(async function requestLog(app) {
  // Client address → lines it may still have this second.
  const linesLeft = new Map<string, number>();
  // "<status> <code> <route>" → refusals not logged one by one this second; and by how many clients.
  const untold = new Map<string, number>();
  const untoldClients = new Set<string>();
  const sumUp = () => {
    linesLeft.clear();
    if (untold.size === 0) return;
    const counts = Object.fromEntries(untold);
    const clients = untoldClients.size;
    untold.clear();
    untoldClients.clear();
    app.log.warn({ untold: counts, clients },
      `more than ${UNIDENTIFIED_REFUSAL_LINES_PER_SECOND} refusals a second for a client not identified: counted here, not logged one by one`);
  };
  const timer = setInterval(sumUp, 1000);
  timer.unref();
  app.addHook('onClose', (_app, done) => { clearInterval(timer); sumUp(); done(); });

  app.addHook('onResponse', (request, reply, done) => {
    // request.user is null until authentication, and for a refused caller.
    const identified = Boolean((request.user as Caller | null)?.userKey);
    const { problem } = reply;
    const status = reply.statusCode;
    const route = request.routeOptions.url ?? 'unmatched';
    const probe = PROBE_ROUTES.has(route);
    if (probe && status < 400) {
      done();
      return;
    }
    if (!identified && ((status >= 400 && status < 500) || probe || problem?.code === 'overloaded')) {
      // IPv6 clients by their /64, as the per-IP rate limit counts them.
      const client = clientAddress(request.ip);
      const left = linesLeft.get(client) ?? (linesLeft.size < MAX_CLIENTS_PER_SECOND ? UNIDENTIFIED_REFUSAL_LINES_PER_SECOND : 0);
      if (left === 0) {
        const key = `${status} ${problem?.code ?? 'unknown'} ${route}`;
        untold.set(key, (untold.get(key) ?? 0) + 1);
        if (untoldClients.size < MAX_CLIENTS_PER_SECOND) untoldClients.add(client);
        done();
        return;
      }
      linesLeft.set(client, left - 1);
    }
    // Built field by field, in this order, rather than by spreading objects made for the purpose.
    const line: Record<string, unknown> = { method: request.method, route, status, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (identified) line.user = app.hashUser(request.user);
    if (problem) {
      line.code = problem.code;
      line.detail = problem.detail;
    }
    request.log.info(line, 'request');
    done();
  });
}, {
  name: 'request-log',
  dependencies: ['problem-details', 'audit', 'authentication'],
  decorators: { fastify: ['hashUser'], request: ['user'], reply: ['problem'] },
});
