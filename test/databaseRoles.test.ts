// Two database roles, as deployed: the migration command runs as a role that owns the schema
// and grants the service's role (DATABASE_SERVICE_ROLE) only what the service does; the service
// then works as that role and cannot change the schema. Roles are global to a PostgreSQL server,
// so their names are unique to this run, and they are dropped at the end.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { startAcsEmulator } from '../emulators/acsEmulator.js';
import { startEntraEmulator } from '../emulators/entraEmulator.js';
import { createDatabaseIfMissing } from '../src/db/createDatabase.js';
import { startServiceProcess } from './helpers/serviceProcess.js';
import { ADMIN_DATABASE_URL, createTestDatabase, TEST_DATABASE, withClient } from './helpers/testDatabase.js';
import { testServiceEnv } from './helpers/testServiceEnv.js';

const skip = TEST_DATABASE === 'pglite' ? 'PGlite has a single role: roles and grants need the PostgreSQL server' : false;

function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = '';
  return u.toString();
}

t.test('the service runs as a role of its own that can use the tables but not change the schema', { skip }, async (t) => {
  const suffix = randomBytes(4).toString('hex');
  const migrator = `acs_test_migrator_${suffix}`;
  const service = `acs_test_service_${suffix}`;
  const later = `acs_test_later_${suffix}`;
  const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase({ migrated: false })]);
  const databaseName = new URL(database.url).pathname.slice(1);
  await withClient(ADMIN_DATABASE_URL, async (admin) => {
    // What an operator does once: two login roles, the migration role owning the database.
    await admin.query(`CREATE ROLE ${migrator} LOGIN`);
    await admin.query(`CREATE ROLE ${service} LOGIN`);
    await admin.query(`CREATE ROLE ${later} LOGIN`);
    await admin.query(`ALTER DATABASE ${databaseName} OWNER TO ${migrator}`);
  });
  t.teardown(async () => {
    await Promise.all([entra.close(), acs.close()]);
    await database.drop();
    await withClient(ADMIN_DATABASE_URL, async (admin) => {
      for (const role of [service, later, migrator]) await admin.query(`DROP ROLE IF EXISTS ${role}`);
    });
  });
  const migratorUrl = asRole(database.url, migrator);
  const serviceUrl = asRole(database.url, service);

  // An existing deployment: migrated before a service role was named. The service's role can
  // do nothing yet.
  const first = await startServiceProcess(t, { DATABASE_URL: migratorUrl }, 'src/db/migrateCli.ts');
  t.equal(await first.exited, 0, first.output().stderr);
  t.match(first.output().stdout, /Applied: 001_identities\.sql/);
  await withClient(serviceUrl, async (client) => {
    await t.rejects(client.query('SELECT 1 FROM acs_identities'), { code: '42501' }, 'no rights before the role is named');
  });

  // Naming the role later grants it on the next run, though no migration is pending.
  const granted = await startServiceProcess(t, { DATABASE_URL: migratorUrl, DATABASE_SERVICE_ROLE: service }, 'src/db/migrateCli.ts');
  t.equal(await granted.exited, 0, granted.output().stderr);
  t.match(granted.output().stdout, /up to date/);
  t.match(granted.output().stdout, new RegExp(`rights are granted to ${service}`));

  // A mistaken setting is refused with a reason: the migration role itself, or no such role.
  const itself = await startServiceProcess(t, { DATABASE_URL: migratorUrl, DATABASE_SERVICE_ROLE: migrator }, 'src/db/migrateCli.ts');
  t.equal(await itself.exited, 1);
  t.match(itself.output().stderr, /DATABASE_SERVICE_ROLE .* is the role that runs the migrations/);
  const missing = await startServiceProcess(t, { DATABASE_URL: migratorUrl, DATABASE_SERVICE_ROLE: `${service}_missing` }, 'src/db/migrateCli.ts');
  t.equal(await missing.exited, 1);
  t.match(missing.output().stderr, /does not exist: create it/);

  // Every table of the schema is usable by the service (a new table must be granted too).
  await withClient(database.url, async (admin) => {
    const { rows } = await admin.query<{ tablename: string; readable: boolean }>(
      "SELECT tablename, has_table_privilege($1, 'public.' || quote_ident(tablename), 'SELECT') AS readable FROM pg_tables WHERE schemaname = 'public'", [service]);
    t.ok(rows.length >= 4, `${rows.length} tables`);
    for (const row of rows) t.ok(row.readable, `the service can read ${row.tablename}`);
    const { rows: [items] } = await admin.query<{ deletable: boolean }>(
      "SELECT has_table_privilege($1, 'public.tenant_offboarding_items', 'DELETE') AS deletable", [service]);
    t.ok(items!.deletable, "the service can delete a completed offboarding's items");
  });

  // The service as that role: ready, tokens, revocation, deletion (queued, then retried), audit.
  const app = await buildApp(loadConfig({
    ...testServiceEnv({ entra, acs, database: { ...database, url: serviceUrl } }),
    LOG_LEVEL: 'silent', ACS_TOKEN_REUSE_SECONDS: '0',
  }));
  await app.ready();
  let closed = false;
  t.teardown(async () => { if (!closed) await app.close(); });
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'ready: it reads schema_migrations');
  const auth = { authorization: `Bearer ${entra.mintAccessToken()}` };
  const token = await app.inject({ url: '/api/token', headers: auth });
  t.equal(token.statusCode, 200, 'a token as the service role');
  const acsUserId = token.json().user.communicationUserId;
  t.equal((await app.inject({ method: 'POST', url: '/api/token/revoke', headers: auth })).statusCode, 204);
  t.equal((await app.inject({ url: '/api/token', headers: auth })).statusCode, 200, 'a token after revocation');
  acs.injectFault({ status: 500, times: Infinity, operations: ['deleteIdentity'] });
  t.equal((await app.inject({ method: 'DELETE', url: '/api/user', headers: auth })).statusCode, 202, 'deletion queued');
  acs.clearFaults();
  await withClient(migratorUrl, (client) => client.query('UPDATE acs_identity_deletions SET next_attempt_at = now()'));
  await app.identityDeletions.retryDue();
  t.notOk(acs.hasIdentity(acsUserId), 'the retry deleted the identity in ACS');
  await app.close();
  closed = true;
  await withClient(migratorUrl, async (client) => {
    const { rows } = await client.query('SELECT count(*)::int AS n FROM acs_identity_deletions');
    t.equal(rows[0].n, 0, 'the queued deletion is done');
    const audit = await client.query('SELECT count(*)::int AS n FROM audit_events');
    t.ok(audit.rows[0].n > 0, `audit events written (${audit.rows[0].n})`);
  });

  // …and the schema is out of its reach.
  await withClient(serviceUrl, async (client) => {
    for (const statement of [
      'ALTER TABLE acs_identities ADD COLUMN extra text',
      'CREATE TABLE extra (id int)',
      'DROP TABLE audit_events',
      'TRUNCATE acs_identities',
      'CREATE INDEX extra_index ON acs_identities (created_at)',
      'INSERT INTO schema_migrations (version, name, checksum) VALUES (999, $$x$$, $$x$$)',
      'CREATE FUNCTION extra() RETURNS int LANGUAGE sql AS $$SELECT 1$$',
    ]) {
      await t.rejects(client.query(statement), { code: '42501' }, `refused: ${statement}`);
    }
  });

  // A service that migrates itself (MIGRATE_ON_START, as the migration role) grants too.
  await withClient(asRole(database.url, later), async (client) => {
    await t.rejects(client.query('SELECT 1 FROM acs_identities'), { code: '42501' }, 'not yet granted');
  });
  const selfMigrating = await buildApp(loadConfig({
    ...testServiceEnv({ entra, acs, database: { ...database, url: migratorUrl } }),
    LOG_LEVEL: 'silent', MIGRATE_ON_START: 'true', DATABASE_SERVICE_ROLE: later,
  }));
  await selfMigrating.close();
  await withClient(asRole(database.url, later), async (client) => {
    t.equal((await client.query('SELECT 1 FROM acs_identities')).rowCount, 0, 'granted at start');
  });
});

t.test('--create-database: the migration role creates a missing database, owns it, and can create its tables', { skip }, async (t) => {
  const suffix = randomBytes(4).toString('hex');
  // As on a managed server: an administrator that may create databases and roles, no superuser.
  const administrator = `acs_test_admin_${suffix}`;
  const databaseName = `acs_test_created_${suffix}`;
  await withClient(ADMIN_DATABASE_URL, (admin) => admin.query(`CREATE ROLE ${administrator} LOGIN CREATEDB`));
  t.teardown(() => withClient(ADMIN_DATABASE_URL, async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${administrator}`);
  }));
  const url = new URL(ADMIN_DATABASE_URL);
  url.username = administrator;
  url.password = '';
  url.pathname = `/${databaseName}`;

  const without = await startServiceProcess(t, { DATABASE_URL: url.toString() }, 'src/db/migrateCli.ts');
  t.not(await without.exited, 0, 'without the flag a missing database is an error');
  t.match(without.output().stderr, new RegExp(`^The migration failed: database "${databaseName}" does not exist: create it, or run this with --create-database\\. Nothing was changed\\.\\n$`), 'named, with the fix, and no stack trace');

  const created = await startServiceProcess(t, { DATABASE_URL: url.toString() }, 'src/db/migrateCli.ts', undefined, ['--create-database']);
  t.equal(await created.exited, 0, created.output().stderr);
  t.match(created.output().stdout, new RegExp(`Created the database ${databaseName}\\.[\\s\\S]*Applied: 001_identities\\.sql`));
  await withClient(ADMIN_DATABASE_URL, async (admin) => {
    const { rows } = await admin.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [databaseName]);
    t.equal(rows[0]?.owner, administrator, 'owned by the role that ran the migrations');
  });

  const again = await startServiceProcess(t, { DATABASE_URL: url.toString() }, 'src/db/migrateCli.ts', undefined, ['--create-database']);
  t.equal(await again.exited, 0, again.output().stderr);
  t.match(again.output().stdout, /The database exists\.\nThe database schema is up to date\./, 'a second run changes nothing');

  const unknown = await startServiceProcess(t, { DATABASE_URL: url.toString() }, 'src/db/migrateCli.ts', undefined, ['--create-databse']);
  t.equal(await unknown.exited, 1);
  t.match(unknown.output().stderr, /Unknown argument --create-databse/);
});

t.test('--create-database: runs at the same time all succeed, one creates; the name is the one pg connects to', { skip }, async (t) => {
  const suffix = randomBytes(4).toString('hex');
  // A '#' percent-encoded: pg reads the path with decodeURI, which leaves %23 as it is.
  const encoded = `acs_test_race_${suffix}%23x`;
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${encoded}`;
  t.teardown(() => withClient(ADMIN_DATABASE_URL, (admin) => admin.query(`DROP DATABASE IF EXISTS "${encoded}" WITH (FORCE)`)));
  const options = { connectionString: url.toString(), max: 1, timeoutMs: 10_000, idleInTransactionTimeoutMs: 10_000 };
  const outcomes = await Promise.allSettled([1, 2, 3, 4].map(() => createDatabaseIfMissing(options)));
  t.same(outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => String((outcome).reason)), [], 'none fails');
  t.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled' && outcome.value !== undefined).length, 1, 'one of them created it');
  await withClient(url.toString(), async (client) => {
    t.equal((await client.query<{ name: string }>('SELECT current_database() AS name')).rows[0]?.name, encoded, 'pg connects to the database that was created');
  });

  const noDatabase = new URL(ADMIN_DATABASE_URL);
  noDatabase.pathname = '/';
  const refused = await startServiceProcess(t, { DATABASE_URL: noDatabase.toString() }, 'src/db/migrateCli.ts', undefined, ['--create-database']);
  t.equal(await refused.exited, 1);
  t.match(refused.output().stderr, /^DATABASE_URL names no database to create\. Nothing was changed\.\n$/, 'a setting error is a message, not a stack trace');
});
