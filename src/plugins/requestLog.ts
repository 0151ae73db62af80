// One structured log line per request: route, status, latency, request id, the caller as a
// keyed hash (never the token, never the clear tid/oid), and for a refusal its code and detail.
import fp from 'fastify-plugin';

export default fp(async function requestLog(app) {
  app.addHook('onResponse', (request, reply, done) => {
    const user = request.user as { tenantId?: string; objectId?: string } | undefined;
    const { problem } = reply;
    request.log.info({
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      // hashUser comes from the audit plugin, registered after this one but before any request.
      ...(user?.tenantId && user.objectId ? { user: app.hashUser(user as { tenantId: string; objectId: string }) } : {}),
      ...(problem ? { code: problem.code, detail: problem.detail } : {}),
    }, 'request');
    done();
  });
}, { name: 'request-log' });
