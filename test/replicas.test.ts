// Several replicas (separate processes, one PostgreSQL, one ACS): one identity per user however
// many requests race for it, and deletions that survive ACS failing and a replica being killed.
// PGlite is one session, so this file needs a PostgreSQL server.
import pg from 'pg';
import t from 'tap';
import { startAcsEmulator } from '../emulators/acsEmulator.js';
import { nameToGuid, startEntraEmulator } from '../emulators/entraEmulator.js';
import { readMigrations } from '../src/db/migrations.js';
import { startServiceProcess, type ServiceProcess } from './helpers/serviceProcess.js';
import { createTestDatabase, TEST_DATABASE } from './helpers/testDatabase.js';
import { testServiceEnv } from './helpers/testServiceEnv.js';

// Starts service processes, each transpiling src/ with tsx before it listens: a time budget of
// its own (README, Tests).
t.setTimeout(240_000);

if (TEST_DATABASE === 'pglite') {
  t.comment('skipped on PGlite: replicas need a PostgreSQL server (PGlite is one session)');
} else {
  const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase()]);
  const db = new pg.Pool({ connectionString: database.url, max: 2 });
  db.on('error', () => undefined);
  t.teardown(async () => { await db.end(); await Promise.all([entra.close(), acs.close()]); await database.drop(); });

  const env = {
    ...testServiceEnv({ entra, acs, database }),
    ACS_REQUEST_TIMEOUT_MS: '3000',
    ACS_DELETION_RETRY_INTERVAL_SECONDS: '1',
    ACS_CIRCUIT_BREAKER_COOLDOWN_SECONDS: '1',
  };
  const replicas: ServiceProcess[] = await Promise.all([1, 2, 3].map(() => startServiceProcess(t, env)));
  t.ok(replicas.every((replica) => replica.url), 'three replicas listening');
  const replicaUrl = (i: number) => replicas[i % replicas.length]!.url!;
  const userToken = (name: string) => entra.mintAccessToken({ objectId: nameToGuid('replicas', name) });

  /** `count` concurrent first requests for one user, spread over the replicas. */
  async function race(name: string, count: number) {
    const answers = await Promise.all(Array.from({ length: count }, async (_, i) => {
      const response = await fetch(`${replicaUrl(i)}/api/token`, { headers: { authorization: `Bearer ${userToken(name)}` } });
      return { status: response.status, body: (await response.json()) as { user?: { communicationUserId: string }; code?: string } };
    }));
    const ids = new Set(answers.filter((a) => a.status === 200).map((a) => a.body.user!.communicationUserId));
    const statuses = answers.reduce<Record<number, number>>((counts, a) => ({ ...counts, [a.status]: (counts[a.status] ?? 0) + 1 }), {});
    return { ids, statuses };
  }

  async function mappingOf(name: string): Promise<string[]> {
    const { rows } = await db.query<{ acs_user_id: string }>('SELECT acs_user_id FROM acs_identities WHERE object_id = $1', [nameToGuid('replicas', name)]);
    return rows.map((row) => row.acs_user_id);
  }

  t.test('150 concurrent first requests on 3 replicas: one identity', async (t) => {
    acs.resetCounters();
    const { ids, statuses } = await race('dana', 150);
    t.same(statuses, { 200: 150 }, 'every answer is 200');
    t.equal(ids.size, 1, 'all name the same identity');
    t.equal(acs.counters.identitiesCreated, 1, 'ACS created exactly one');
    t.same(await mappingOf('dana'), [...ids]);
  });

  t.test('…with ACS taking 1 s per creation', async (t) => {
    acs.resetCounters();
    acs.setLatency(1000);
    t.teardown(() => acs.clearFaults());
    const { ids, statuses } = await race('eli', 150);
    t.same(statuses, { 200: 150 });
    t.equal(ids.size, 1);
    t.equal(acs.counters.identitiesCreated, 1);
  });

  t.test('…with the first creations failing', async (t) => {
    acs.resetCounters();
    acs.injectFault({ status: 500, times: 2, operations: ['createIdentity'] });
    t.teardown(() => acs.clearFaults());
    const { ids, statuses } = await race('fay', 150);
    t.ok((statuses[503] ?? 0) >= 1 && (statuses[200] ?? 0) >= 1, `some failed, the rest succeeded: ${JSON.stringify(statuses)}`);
    t.equal((statuses[200] ?? 0) + (statuses[503] ?? 0), 150, 'nothing but 200 and 503');
    t.equal(ids.size, 1, 'never two identities');
    t.equal(acs.counters.identitiesCreated, 1);
    const mapped = await mappingOf('fay');
    t.same(mapped, [...ids]);
    t.ok(acs.hasIdentity(mapped[0]!), 'the mapping points at an identity that exists');
  });

  t.test('deletions while ACS fails, a replica killed mid-retry, another finishes', async (t) => {
    const names = ['gus', 'hal', 'ivy', 'jon', 'kim', 'lea'];
    const deleted: string[] = [];
    for (const [i, name] of names.entries()) {
      const created = await fetch(`${replicaUrl(i)}/api/user`, { method: 'POST', headers: { authorization: `Bearer ${userToken(name)}` } });
      deleted.push(((await created.json()) as { acsUserIdentity: string }).acsUserIdentity);
    }

    acs.injectFault({ status: 500, times: Infinity, operations: ['deleteIdentity'] });
    for (const [i, name] of names.entries()) {
      const response = await fetch(`${replicaUrl(i)}/api/user`, { method: 'DELETE', headers: { authorization: `Bearer ${userToken(name)}` } });
      t.equal(response.status, 202, `${name}: deletion queued`);
      if (name === 'gus') {
        // Before more failures open the replica's circuit: asking again at once.
        const fresh = await fetch(`${replicaUrl(i)}/api/token`, { headers: { authorization: `Bearer ${userToken('gus')}` } });
        t.equal(fresh.status, 200);
        const freshId = ((await fresh.json()) as { user: { communicationUserId: string } }).user.communicationUserId;
        t.notOk(deleted.includes(freshId), 'asking again at once gives a fresh identity, never the deleted one');
      }
    }
    t.ok(deleted.every((id) => acs.hasIdentity(id)), 'ACS still has the deleted users\' identities…');
    const queued = await db.query('SELECT count(*)::int AS n FROM acs_identity_deletions');
    t.equal(queued.rows[0].n, names.length, '…and each is recorded for deletion');

    // ACS now hangs on deletions: the replicas' retries are in flight when one is killed.
    acs.clearFaults();
    acs.setHang(true, ['deleteIdentity']);
    await db.query('UPDATE acs_identity_deletions SET next_attempt_at = now()');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    replicas[0]!.kill('SIGKILL');
    await replicas[0]!.exited;
    acs.setHang(false);

    // The others finish, including the claims of the killed one once their lease runs out.
    let left = -1;
    for (let i = 0; i < 60 && left !== 0; i++) {
      left = (await db.query('SELECT count(*)::int AS n FROM acs_identity_deletions')).rows[0].n;
      if (left !== 0) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    t.equal(left, 0, 'every queued deletion was completed');
    t.ok(deleted.every((id) => !acs.hasIdentity(id)), 'ACS no longer has any deleted identity');

    const { rows } = await db.query<{ acs_user_id: string }>('SELECT acs_user_id FROM acs_identities');
    t.same(new Set(acs.identityIds()), new Set(rows.map((row) => row.acs_user_id)), 'ACS\'s identities and the mappings agree exactly');
  });
}

t.test('replicas starting together on an empty database migrate it once', { skip: TEST_DATABASE === 'pglite' && 'PGlite is one session' }, async (t) => {
  const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase({ migrated: false })]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close()]); await database.drop(); });
  const env = { ...testServiceEnv({ entra, acs, database }), MIGRATE_ON_START: 'true' };
  const started = await Promise.all([1, 2, 3].map(() => startServiceProcess(t, env)));
  for (const replica of started) {
    t.ok(replica.url, 'listening');
    t.equal((await fetch(`${replica.url}/readyz`)).status, 200, 'ready');
  }
  const applied = started.filter((replica) => /"msg":"migrations applied"/.test(replica.output().stdout));
  t.equal(applied.length, 1, 'one replica applied the migrations, the others found them done');
  const db = new pg.Pool({ connectionString: database.url, max: 1 });
  t.teardown(() => db.end());
  const { rows } = await db.query('SELECT version FROM schema_migrations');
  t.equal(rows.length, readMigrations().length, 'each migration once');
});
