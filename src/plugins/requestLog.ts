// One structured log line per request: route, status, latency, request id, the caller as a
// keyed hash (never the token, never the clear tid/oid), and for a refusal its code and detail.
// Refusals of callers who were not identified (bad or missing tokens, the per-IP limit,
// unknown routes) come in floods: up to UNIDENTIFIED_REFUSAL_LINES_PER_SECOND of them are
// logged line by line, the others are counted and summed up in one line a second. Metrics
// count every request; server errors (5xx) and identified callers are always logged.
import fp from 'fastify-plugin';

export const UNIDENTIFIED_REFUSAL_LINES_PER_SECOND = 100;

export default fp(async function requestLog(app) {
  let linesLeft = UNIDENTIFIED_REFUSAL_LINES_PER_SECOND;
  // "<status> <code>" → refusals not logged one by one in this second.
  const untold = new Map<string, number>();
  const sumUp = () => {
    linesLeft = UNIDENTIFIED_REFUSAL_LINES_PER_SECOND;
    if (untold.size === 0) return;
    const counts = Object.fromEntries(untold);
    untold.clear();
    app.log.warn({ untold: counts }, `more than ${UNIDENTIFIED_REFUSAL_LINES_PER_SECOND} refusals of unidentified callers in a second: counted here, not logged one by one`);
  };
  const timer = setInterval(sumUp, 1000);
  timer.unref();
  app.addHook('onClose', (_app, done) => { clearInterval(timer); sumUp(); done(); });

  app.addHook('onResponse', (request, reply, done) => {
    const user = request.user as { tenantId?: string; objectId?: string } | undefined;
    const identified = Boolean(user?.tenantId && user.objectId);
    const { problem } = reply;
    const status = reply.statusCode;
    if (!identified && status >= 400 && status < 500) {
      if (linesLeft === 0) {
        const key = `${status} ${problem?.code ?? 'unknown'}`;
        untold.set(key, (untold.get(key) ?? 0) + 1);
        done();
        return;
      }
      linesLeft -= 1;
    }
    request.log.info({
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      // hashUser comes from the audit plugin, registered after this one but before any request.
      ...(identified ? { user: app.hashUser(user as { tenantId: string; objectId: string }) } : {}),
      ...(problem ? { code: problem.code, detail: problem.detail } : {}),
    }, 'request');
    done();
  });
}, { name: 'request-log' });
