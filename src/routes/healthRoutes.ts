// Probes. /healthz checks nothing but the process; /readyz checks what a request needs. One
// readiness check runs at a time and its answer is kept READINESS_KEEP_MS, so that any number
// of probes costs the database at most about one check a second.
import type { FastifyInstance } from 'fastify';
import type { OperationHandler, Schemas } from '../http/contract.js';
import { pendingMigrations } from '../db/migrations.js';
import { HttpProblem } from '../http/httpProblem.js';
import { sendProblem } from '../http/sendProblem.js';

type Checks = Schemas['Checks'];

/** How long a readiness answer is served again: probes come every few seconds. */
export const READINESS_KEEP_MS = 1000;

async function checkReadiness(app: FastifyInstance): Promise<Checks> {
  const { pool, signingKeys } = app;
  const checks: Checks = { database: 'unknown', migrations: 'unknown', signingKeys: 'unknown' };
  await Promise.all([
    pendingMigrations(pool).then(
      (pending) => { checks.database = 'ok'; checks.migrations = pending.length === 0 ? 'ok' : 'failing'; },
      () => { checks.database = 'failing'; },
    ),
    (signingKeys.isLoaded ? Promise.resolve() : signingKeys.load()).then(
      () => { checks.signingKeys = 'ok'; },
      () => { checks.signingKeys = 'failing'; },
    ),
  ]);
  return checks;
}

export function healthHandlers(): { healthz: OperationHandler<'healthz'>; readyz: OperationHandler<'readyz'> } {
  // This app's check in flight, or its last answer and when it came.
  let running: Promise<Checks> | undefined;
  let last: { checks: Checks; at: number } | undefined;
  const readiness = (app: FastifyInstance): Promise<Checks> => {
    if (last && performance.now() - last.at < READINESS_KEEP_MS) return Promise.resolve(last.checks);
    running ??= checkReadiness(app).then((checks) => {
      last = { checks, at: performance.now() };
      return checks;
    }).finally(() => { running = undefined; });
    return running;
  };

  return {
    async healthz(_request, reply) {
      return reply.code(200).send({ status: 'ok' });
    },

    async readyz(request, reply) {
      const shuttingDown = () => sendProblem(reply, new HttpProblem(503, 'not_ready', 'Not ready: shutting down.', { retryAfterSeconds: 5 }),
        { checks: { database: 'unknown', migrations: 'unknown', signingKeys: 'unknown' } });
      if (request.server.shuttingDown) return shuttingDown();
      const checks = { ...await readiness(request.server) };
      // Shutdown may have begun while this probe waited for the check.
      if (request.server.shuttingDown) return shuttingDown();
      const failing = Object.entries(checks).filter(([, state]) => state !== 'ok').map(([name]) => name);
      if (failing.length === 0) return reply.code(200).send({ status: 'ready', checks });
      return sendProblem(reply, new HttpProblem(503, 'not_ready', `Not ready: ${failing.join(', ')}.`, { retryAfterSeconds: 5 }), { checks });
    },
  };
}
