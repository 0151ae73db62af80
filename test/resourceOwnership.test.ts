// Every mapping and queued deletion names its ACS resource: a service never reads, changes or
// retries another resource's rows (one database may have met a local-mode service, or a
// sidecar may point one at a real database), and local mode refuses such a database at start.
import t from 'tap';
import { migrate, readMigrations } from '../src/db/migrations.js';
import { startLocalEnvironment } from '../src/local/localMode.js';
import { startOtherReplica, startTestService } from './helpers/testService.js';
import { createTestDatabase } from './helpers/testDatabase.js';

const OTHER = 'contoso.communication.azure.com';
const otherId = (n: number) => `8:acs:11111111-0000-4000-8000-00000000000${n}_00000000-0000-4000-8000-00000000000${n}`;

t.test('a configured service acts only on its resource\'s rows and on rows of unknown resource', async (t) => {
  const svc = await startTestService(t);
  t.equal(svc.app.identityStore !== undefined, true);
  const objectId = '22222222-0000-4000-8000-000000000001';
  await svc.db.query('INSERT INTO acs_identities (tenant_id, object_id, acs_user_id, acs_resource) VALUES ($1, $2, $3, $4)', [svc.entra.tenantId, objectId, otherId(1), OTHER]);
  await svc.db.query('INSERT INTO acs_identity_deletions (acs_user_id, acs_resource) VALUES ($1, $2)', [otherId(2), OTHER]);
  const before = await svc.snapshot();

  const token = svc.userToken({ objectId });
  t.equal((await svc.request({ url: '/api/user', token })).statusCode, 404, 'another resource\'s mapping is not this user\'s identity here');
  const issued = await svc.request({ url: '/api/token', token });
  t.equal(issued.statusCode, 502, `${issued.statusCode} ${issued.body}`);
  t.equal(issued.json.code, 'acs_identity_not_owned', `nor replaced by a new one: ${issued.body}`);
  t.equal((await svc.request({ method: 'POST', url: '/api/token/revoke', token })).statusCode, 204, 'nothing of this resource to revoke');
  t.equal((await svc.request({ method: 'DELETE', url: '/api/user', token })).statusCode, 204, 'nothing of this resource to delete');
  await svc.app.identityDeletions.retryDue();
  t.same(await svc.snapshot(), before, 'the other resource\'s mapping and queued deletion are untouched');
  t.equal(svc.acs.hasIdentity(otherId(1)), false, 'no ACS call was made for them');

  // A queued deletion of unknown resource (from before acs_resource) is this service's.
  const { token: legacyToken } = { token: svc.userToken({ objectId: '22222222-0000-4000-8000-000000000003' }) };
  const created = await svc.request({ url: '/api/token', token: legacyToken });
  const legacyId = created.json.user.communicationUserId as string;
  await svc.db.query("UPDATE acs_identities SET acs_resource = '' WHERE acs_user_id = $1", [legacyId]);
  t.equal((await svc.request({ url: '/api/token', token: legacyToken })).json.user.communicationUserId, legacyId, 'a mapping of unknown resource is adopted');
  await svc.db.query('DELETE FROM acs_identities WHERE acs_user_id = $1', [legacyId]);
  await svc.db.query("INSERT INTO acs_identity_deletions (acs_user_id, acs_resource) VALUES ($1, '')", [legacyId]);
  await svc.app.identityDeletions.retryDue();
  t.equal(svc.acs.hasIdentity(legacyId), false, 'deleted in ACS');
  const left = await svc.db.query('SELECT acs_user_id FROM acs_identity_deletions ORDER BY acs_user_id');
  t.same(left.rows.map((r) => r.acs_user_id), [otherId(2)], 'the unknown one was done; the other resource\'s stays');
});

t.test('local mode refuses a database that holds another resource\'s identities, before migrating it', async (t) => {
  const database = await createTestDatabase({ migrated: false });
  t.teardown(() => database.drop());
  const pg = (await import('pg')).default;
  const db = new pg.Pool({ connectionString: database.url, max: 1 });
  t.teardown(() => db.end());
  // As a database of a real service was before acs_resource existed (migration 004): rows of
  // unknown resource, and none of the later migrations applied.
  await migrate(db, readMigrations().filter((migration) => migration.version < 4));
  await db.query("INSERT INTO acs_identities (tenant_id, object_id, acs_user_id) VALUES ('t', 'o', $1)", [otherId(3)]);
  await t.rejects(startLocalEnvironment({ DATABASE_URL: database.url, PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }),
    /DATABASE_URL holds 1 ACS identities or queued deletions of another ACS resource/);
  const versions = await db.query('SELECT max(version)::int AS v FROM schema_migrations');
  t.equal(versions.rows[0].v, 3, 'nothing was migrated');

  // Only local mode's own rows (its emulator's resource id): it starts, migrates, and they are its.
  await db.query('DELETE FROM acs_identities');
  await db.query("INSERT INTO acs_identities (tenant_id, object_id, acs_user_id) VALUES ('t', 'o', '8:acs:71c61649-f626-4beb-8a0b-6dd3786e4c6b_00000000-0000-4000-8000-000000000009')");
  const local = await startLocalEnvironment({ DATABASE_URL: database.url, PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent' });
  const { buildApp } = await import('../src/app.js');
  const app = await buildApp(local.config, { localTokenIssuer: local.entra });
  await app.ready();
  t.teardown(async () => { await app.close(); await local.close(); });
  const rows = await db.query('SELECT acs_resource FROM acs_identities');
  t.same(rows.rows, [{ acs_resource: 'local' }], 'the migration named the older local row local');
  // A row of another resource written later is never claimed by local mode's retry loop.
  await db.query('INSERT INTO acs_identity_deletions (acs_user_id, acs_resource) VALUES ($1, $2)', [otherId(4), OTHER]);
  await app.identityDeletions.retryDue();
  const queued = await db.query('SELECT attempts FROM acs_identity_deletions WHERE acs_user_id = $1', [otherId(4)]);
  t.same(queued.rows, [{ attempts: 0 }], 'the real resource\'s queued deletion was not claimed');
});

// The resource is the ACS endpoint's host name: if an operator changes it for the same resource,
// the rows already stored must not fall silent (each user would get 502 acs_identity_not_owned).
t.test('a configured service warns at start, with the fix, about rows of other resources', async (t) => {
  const svc = await startTestService(t);
  await svc.db.query('INSERT INTO acs_identities (tenant_id, object_id, acs_user_id, acs_resource) VALUES ($1, $2, $3, $4)', [svc.entra.tenantId, '22222222-0000-4000-8000-000000000009', otherId(7), OTHER]);
  await svc.db.query('INSERT INTO acs_identity_deletions (acs_user_id, acs_resource) VALUES ($1, $2)', [otherId(8), OTHER]);
  const lines: string[] = [];
  await startOtherReplica(t, svc, { LOG_LEVEL: 'info' }, { logStream: { write: (line) => { lines.push(line); } } });
  const warning = async () => {
    for (let waited = 0; waited < 5000; waited += 50) {
      const found = lines.map((line) => JSON.parse(line)).find((entry) => entry.otherResources);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return undefined;
  };
  t.match(await warning(), {
    level: 40,
    otherResources: { [OTHER]: 2 },
    msg: /belong to other ACS resources.*UPDATE acs_identities SET acs_resource/,
  }, 'one warning naming the resource, its count and the statement that adopts its rows');
});
