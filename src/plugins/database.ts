// The PostgreSQL pool and the identity store, closed with the app. Migrations run here only
// when MIGRATE_ON_START=true; otherwise `npm run migrate` (a release step) applies them.
import fp from 'fastify-plugin';
import type pg from 'pg';
import type { Config } from '../config.js';
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
    const applied = await migrate(pool);
    app.log.info({ applied }, applied.length ? 'migrations applied' : 'database schema is up to date');
  }
  app.decorate('pool', pool);
  // Local mode (the resource `local`) never adopts rows whose resource is not known.
  const scope = { resource: config.acs.resource, adoptUnknown: config.acs.resource !== LOCAL_ACS_RESOURCE };
  app.decorate('identityStore', new IdentityStore(pool, scope, (error) => app.log.warn({ err: error },
    'the database (or a pooler in front of it) did not keep a prepared statement: identity lookups are sent unprepared from now on')));
}, { name: 'database', dependencies: ['metrics'] });
