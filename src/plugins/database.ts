// The PostgreSQL pool and the identity store, closed with the app. Migrations run here only
// when MIGRATE_ON_START=true; otherwise `npm run migrate` (a release step) applies them.
import fp from 'fastify-plugin';
import type pg from 'pg';
import type { Config } from '../config/index.js';
import { IdentityStore } from '../db/identityStore.js';
import { migrate } from '../db/migrations.js';
import { createPool } from '../db/pool.js';
import { LOCAL_ACS_RESOURCE } from '../db/resources.js';

declare module 'fastify' {
  interface FastifyInstance {
    pool: pg.Pool;
    identityStore: IdentityStore;
    /** Work that needs the pool at shutdown (after in-flight requests finished, before it ends). */
    beforePoolEnd(work: () => Promise<void>): void;
  }
}

export default fp(async function database(app, { config }: { config: Config }) {
  const pool = createPool({
    connectionString: config.databaseUrl,
    auth: config.databaseAuth,
    max: config.databasePoolMax,
    timeoutMs: config.databaseTimeoutMs,
    // Creation holds a transaction open across one ACS call.
    idleInTransactionTimeoutMs: config.acs.requestTimeoutMs + config.databaseTimeoutMs,
    onQuery: () => app.metrics.databaseQueries.inc(),
    singleSession: config.databaseSingleSession,
  });
  // onClose hooks of one context run in registration order, so the pool's users hand their
  // last work in here rather than in onClose hooks of their own.
  const lastWork: Array<() => Promise<void>> = [];
  app.decorate('beforePoolEnd', (work: () => Promise<void>) => { lastWork.push(work); });
  app.addHook('onClose', async () => {
    for (const work of lastWork) await work().catch((error: unknown) => app.log.warn({ err: error }, 'shutdown work failed'));
    await pool.end();
  });
  if (config.migrateOnStart) {
    const applied = await migrate(pool, undefined, { serviceRole: config.databaseServiceRole, serviceRoleObjectId: config.databaseServiceRoleObjectId });
    app.log.info({ applied }, applied.length ? 'migrations applied' : 'database schema is up to date');
  }
  app.decorate('pool', pool);
  const { dbPool } = app.metrics;
  app.sampleAtScrape(() => {
    dbPool.set({ state: 'total' }, pool.totalCount);
    dbPool.set({ state: 'idle' }, pool.idleCount);
    dbPool.set({ state: 'waiting' }, pool.waitingCount);
  });
  // Local mode (the resource `local`) never adopts rows whose resource is not known.
  const scope = { resource: config.acs.resource, adoptUnknown: config.acs.resource !== LOCAL_ACS_RESOURCE };
  const identityStore = new IdentityStore(pool, scope, (error) => app.log.warn({ err: error },
    'the database (or a pooler in front of it) did not keep a prepared statement: identity lookups are sent unprepared from now on'));
  app.decorate('identityStore', identityStore);
  // Rows of another resource are never used. When the endpoint's host name changed for the
  // same resource, they are this service's users, who would each get 502 until adopted: say so
  // once at start. Not awaited: a database that is down must not hold the start.
  app.addHook('onReady', async () => {
    identityStore.otherResources().then((otherResources) => {
      if (Object.keys(otherResources).length === 0) return;
      app.log.warn({ otherResources, resource: scope.resource },
        `mappings or queued deletions in the database belong to other ACS resources than ${scope.resource}: this service leaves them alone. `
        + `If the ACS endpoint's host name changed for the same resource, adopt them: UPDATE acs_identities SET acs_resource = '${scope.resource}' WHERE acs_resource = '<old>'; `
        + `UPDATE acs_identity_deletions SET acs_resource = '${scope.resource}' WHERE acs_resource = '<old>'`);
    }, () => undefined);
  });
}, { name: 'database', dependencies: ['metrics'], decorators: { fastify: ['metrics', 'sampleAtScrape'] } });
