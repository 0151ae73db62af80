// The audit trail and the keyed hash that stands for a user in it and in the logs
// (HMAC-SHA256 of the caller's user key with AUDIT_HASH_KEY: stable, not reversible without
// the key).
import { createHmac } from 'node:crypto';
import fp from 'fastify-plugin';
import type { Config } from '../config/index.js';
import { AuditTrail, MAX_PENDING } from '../audit/auditTrail.js';
import type { Caller } from '../auth/caller.js';

declare module 'fastify' {
  interface FastifyInstance {
    audit: AuditTrail;
    /** A caller's user key as a keyed hash, for logs and the audit trail. */
    hashUser: (user: Caller) => string;
  }
}

const CLEANUP_INTERVAL_MS = 60 * 60 * 1000;

export default fp(async function audit(app, { config }: { config: Config['audit'] }) {
  // Remembered per caller (authentication keeps one per cached token), which the log line and
  // the audit trail each ask for.
  const hashes = new WeakMap<object, string>();
  app.decorate('hashUser', (user: Caller) => {
    let hash = hashes.get(user);
    if (hash === undefined) {
      hash = createHmac('sha256', config.hashKey).update(user.userKey).digest('base64url');
      hashes.set(user, hash);
    }
    return hash;
  });

  const trail = new AuditTrail(
    app.pool,
    (error) => app.log.warn({ err: error }, 'audit events not written yet'),
    (count) => {
      app.metrics.auditEventsDropped.inc(count);
      app.log.error({ dropped: count }, `audit events dropped: more than ${MAX_PENDING} were waiting to be written`);
    },
  );
  app.decorate('audit', trail);

  const flushTimer = setInterval(() => void trail.flush(), config.flushIntervalMs);
  flushTimer.unref();
  const cleanup = () => trail.deleteOlderThan(config.retentionDays)
    .then((deleted) => { if (deleted > 0) app.log.info({ deleted }, 'old audit events deleted'); })
    .catch((error: unknown) => app.log.warn({ err: error }, 'audit cleanup failed'));
  const cleanupTimer = setInterval(() => void cleanup(), CLEANUP_INTERVAL_MS);
  cleanupTimer.unref();

  // After in-flight requests (and the last deletion-retry pass) recorded their events, before
  // the pool ends.
  app.beforePoolEnd(async () => {
    clearInterval(flushTimer);
    clearInterval(cleanupTimer);
    await trail.flush();
  });
}, { name: 'audit', dependencies: ['database', 'metrics'], decorators: { fastify: ['pool', 'beforePoolEnd', 'metrics'] } });
