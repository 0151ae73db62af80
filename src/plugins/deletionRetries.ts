// Retries the ACS deletions that could not be done when the user asked (DELETE /api/user
// answered 202). Any replica may take a due deletion; a claim is a lease in the database, so
// two replicas do not work on the same one, and a replica that dies mid-way loses nothing.
import fp from 'fastify-plugin';
import { AcsError, isTransient } from '../acs/acsErrors.js';
import type { Config } from '../config/index.js';

const MAX_BACKOFF_SECONDS = 3600;

export default fp(async function deletionRetries(app, { config }: { config: Config['deletions'] }) {
  const { retryIntervalSeconds: intervalSeconds, batchSize, leaseSeconds } = config;
  let running: Promise<void> | undefined;

  async function retryDueDeletions(): Promise<void> {
    for (let tried = 0; tried < batchSize; tried++) {
      const due = await app.identityStore.claimDueDeletion(leaseSeconds);
      if (!due) return;
      const { acsUserId, attempts } = due;
      try {
        await app.acs.deleteIdentity(acsUserId);
        await app.identityStore.completeDeletion(acsUserId);
        // Whose it was is no longer known here (the mapping went with the request): no user.
        app.audit.record('deletion_completed', undefined, { attempts: attempts + 1 });
        app.log.info({ attempts: attempts + 1 }, 'queued ACS identity deletion completed');
      } catch (error) {
        const backoff = Math.min(MAX_BACKOFF_SECONDS, intervalSeconds * 2 ** Math.min(attempts, 12));
        const retryAfter = error instanceof AcsError ? Math.max(backoff, error.retryAfterSeconds ?? 0) : backoff;
        await app.identityStore.deferDeletion(acsUserId, error instanceof Error ? error.message : 'failed', retryAfter);
        // Throttling and outages pass; a refusal (wrong key, foreign identity) needs an operator.
        const transient = error instanceof AcsError && isTransient(error);
        app.log[transient ? 'warn' : 'error']({ attempts: attempts + 1, retryAfter, err: error }, 'queued ACS identity deletion failed again');
      }
    }
  }

  const timer = setInterval(() => {
    if (running) return;
    running = retryDueDeletions()
      .catch((error: unknown) => app.log.warn({ err: error }, 'deletion retry pass failed'))
      .finally(() => { running = undefined; });
  }, intervalSeconds * 1000);
  timer.unref();

  app.decorate('retryDueDeletions', retryDueDeletions);
  // preClose: before the database plugin's onClose ends the pool this pass may still use.
  app.addHook('preClose', async () => {
    clearInterval(timer);
    await running;
  });
}, { name: 'deletion-retries', dependencies: ['database', 'acs', 'audit'], decorators: { fastify: ['identityStore', 'acs', 'audit'] } });

declare module 'fastify' {
  interface FastifyInstance {
    /** Runs one retry pass now (the timer runs them every interval). */
    retryDueDeletions: () => Promise<void>;
  }
}
