// Probes. /healthz checks nothing but the process; /readyz checks what a request needs.
import type { OperationHandler, Schemas } from '../contract.js';
import { pendingMigrations } from '../db/migrations.js';
import { HttpProblem } from '../httpProblem.js';
import { sendProblem } from '../plugins/problemDetails.js';

type Checks = Schemas['Checks'];

export function healthHandlers(): { healthz: OperationHandler<'healthz'>; readyz: OperationHandler<'readyz'> } {
  return {
    async healthz(_request, reply) {
      return reply.code(200).send({ status: 'ok' });
    },

    async readyz(request, reply) {
      const { pool, signingKeys, shuttingDown } = request.server;
      const checks: Checks = { database: 'unknown', migrations: 'unknown', signingKeys: 'unknown' };
      if (shuttingDown) {
        return sendProblem(reply, new HttpProblem(503, 'not_ready', 'Not ready: shutting down.', { retryAfterSeconds: 5 }), { checks });
      }
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
      const failing = Object.entries(checks).filter(([, state]) => state !== 'ok').map(([name]) => name);
      if (failing.length === 0) return reply.code(200).send({ status: 'ready', checks });
      return sendProblem(reply, new HttpProblem(503, 'not_ready', `Not ready: ${failing.join(', ')}.`, { retryAfterSeconds: 5 }), { checks });
    },
  };
}
