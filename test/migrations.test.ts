// Migrations: from an empty database, once, safely when several replicas start together, and
// never over a file that changed after it was applied.
import t from 'tap';
import { createPool } from '../src/db/pool.js';
import { migrate, pendingMigrations, readMigrations } from '../src/db/migrations.js';
import { createTestDatabase, TEST_DATABASE } from './helpers/testDatabase.js';

async function emptyDatabasePool(t: { teardown(fn: () => unknown): void }) {
  const database = await createTestDatabase({ migrated: false });
  const pool = createPool({ connectionString: database.url, max: TEST_DATABASE === 'pglite' ? 1 : 10, timeoutMs: 5000, idleInTransactionTimeoutMs: 10000 });
  t.teardown(async () => { await pool.end(); await database.drop(); });
  return pool;
}

t.test('from an empty database, then nothing to do', async (t) => {
  const pool = await emptyDatabasePool(t);
  const all = readMigrations().map((m) => m.name);
  t.ok(all.length >= 1);
  t.same(await pendingMigrations(pool), all, 'all pending at first');
  t.same(await migrate(pool), all, 'all applied');
  t.same(await pendingMigrations(pool), []);
  t.same(await migrate(pool), [], 'a second run applies nothing');
  const tables = await pool.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
  t.same(tables.rows.map((r) => r.tablename), ['acs_identities', 'acs_identity_deletions', 'audit_events', 'erasure_receipts', 'schema_migrations', 'tenant_offboarding_items', 'tenant_offboardings']);
});

// Several sessions racing for the lock need a server; PGlite is one session.
t.test('from every earlier version to the current one', async (t) => {
  const all = readMigrations();
  for (let applied = 0; applied < all.length; applied++) {
    const pool = await emptyDatabasePool(t);
    await migrate(pool, all.slice(0, applied));
    t.same(await migrate(pool), all.slice(applied).map((m) => m.name), `from version ${applied}: the rest applied`);
    t.same(await pendingMigrations(pool), []);
  }
});

t.test('replicas migrating at once apply each migration once', { skip: TEST_DATABASE === 'pglite' && 'PGlite is one session' }, async (t) => {
  const pool = await emptyDatabasePool(t);
  const results = await Promise.all(Array.from({ length: 6 }, () => migrate(pool)));
  t.equal(results.filter((applied) => applied.length > 0).length, 1, 'one of them did the work');
  const history = await pool.query('SELECT count(*)::int AS n FROM schema_migrations');
  t.equal(history.rows[0].n, readMigrations().length);
});

t.test('a migration changed after it was applied is refused', async (t) => {
  const pool = await emptyDatabasePool(t);
  const migrations = readMigrations();
  await migrate(pool, migrations);
  const changed = migrations.map((m, i) => (i === 0 ? { ...m, checksum: 'different' } : m));
  await t.rejects(migrate(pool, changed), /was changed after it was applied/);
});

t.test('a failing migration leaves nothing half-applied', async (t) => {
  const pool = await emptyDatabasePool(t);
  const broken = [...readMigrations(), { version: 999, name: '999_broken.sql', sql: 'CREATE TABLE x (; ', checksum: 'x' }];
  await t.rejects(migrate(pool, broken));
  const tables = await pool.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
  t.equal(tables.rows[0].n, 0, 'the earlier migrations of the same run were rolled back too');
});

// Releases run the migrations first, then replace the pods: the previous release's pods keep
// writing to the new schema for a while, with the statements they know.
t.test('the previous release\'s writes still succeed on the current schema', async (t) => {
  const pool = await emptyDatabasePool(t);
  await migrate(pool);
  const inserted = await pool.query("INSERT INTO acs_identities (tenant_id, object_id, acs_user_id) VALUES ('t', 'o', '8:acs:r_1') RETURNING acs_user_id");
  t.equal(inserted.rowCount, 1, 'a mapping without its resource');
  await pool.query("INSERT INTO acs_identity_deletions (acs_user_id) VALUES ('8:acs:r_2') ON CONFLICT DO NOTHING");
  await pool.query("INSERT INTO acs_identity_deletions (acs_user_id, next_attempt_at) SELECT '8:acs:r_3', now() ON CONFLICT (acs_user_id) DO NOTHING");
  const queued = await pool.query('SELECT count(*)::int AS n FROM acs_identity_deletions');
  t.equal(queued.rows[0].n, 2, 'queued deletions without their resource');
});
