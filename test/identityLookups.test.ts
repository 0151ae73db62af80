// The warm path's lookups, batched: requests that arrive together share one statement, and
// each still gets its own user's identity, never a neighbour's; a revocation or deletion
// committed before a request arrives is seen by it.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { entraCaller } from '../src/auth/caller.js';
import { IdentityLookups } from '../src/db/identityLookups.js';
import { createPool } from '../src/db/pool.js';
import { startTcpProxy } from './helpers/tcpProxy.js';
import { createTestDatabase, TEST_DATABASE } from './helpers/testDatabase.js';
import { startOtherReplica, startTestService } from './helpers/testService.js';

const svc = await startTestService(t, { ACS_TOKEN_REUSE_SECONDS: '300' });
const newUser = () => svc.userToken({ objectId: randomUUID() });

async function queriesSent(): Promise<number> {
  const text = (await svc.app.inject({ url: '/metrics' })).body;
  return Number(/^database_queries_total (\S+)$/m.exec(text)?.[1]);
}

t.test('thirty concurrent lookups: one identity each, fewer statements than requests', async (t) => {
  const known = Array.from({ length: 30 }, () => newUser());
  const identities = new Map<string, string>();
  for (const token of known) {
    const created = await svc.request({ method: 'POST', url: '/api/user', token });
    t.equal(created.statusCode, 201);
    identities.set(token, created.json.acsUserIdentity);
  }
  t.equal(new Set(identities.values()).size, 30, 'thirty identities');
  const unknown = Array.from({ length: 5 }, () => newUser());

  const before = await queriesSent();
  const tokens = [...known, ...unknown].sort(() => Math.random() - 0.5);
  const answers = await Promise.all(tokens.map((token) => svc.request({ url: '/api/user', token })));
  const statements = (await queriesSent()) - before;

  answers.forEach((answer, index) => {
    const expected = identities.get(tokens[index]!);
    if (expected) t.same([answer.statusCode, answer.json.acsUserIdentity], [200, expected], 'its own identity');
    else t.same([answer.statusCode, answer.json.code], [404, 'identity_not_found'], 'no identity yet: 404');
  });
  t.ok(statements >= 1 && statements < tokens.length, `${tokens.length} lookups in ${statements} statement(s)`);
});

t.test('a lookup sent with others sees a revocation and a deletion made just before on another replica', async (t) => {
  const other = await startOtherReplica(t, svc, { ACS_TOKEN_REUSE_SECONDS: '300' });
  const [alice, bob, carol] = [newUser(), newUser(), newUser()];
  const first = await Promise.all([alice, bob, carol].map((token) => svc.request({ url: '/api/token', token })));
  const onOther = (method: 'POST' | 'DELETE', url: string, token: string) =>
    other.inject({ method, url, headers: { authorization: `Bearer ${token}` } }).then((answer) => answer.statusCode);
  t.equal(await onOther('POST', '/api/token/revoke', alice), 204, 'alice revokes on the other replica');
  t.equal(await onOther('DELETE', '/api/user', bob), 204, 'bob deletes himself there');

  const [afterAlice, afterBob, afterCarol] = await Promise.all([alice, bob, carol].map((token) => svc.request({ url: '/api/token', token })));
  t.not(afterAlice!.json.token, first[0]!.json.token, 'alice: a new token after her revocation');
  t.equal(afterAlice!.json.user.communicationUserId, first[0]!.json.user.communicationUserId, 'alice: the same identity');
  t.not(afterBob!.json.user.communicationUserId, first[1]!.json.user.communicationUserId, 'bob: a new identity after his deletion');
  t.equal(afterCarol!.json.token, first[2]!.json.token, 'carol: her recent token, reused');
});

t.test('lookups that arrive while a statement is out wait for it, then go out together in one', async (t) => {
  const pool = createPool({ connectionString: svc.database.url, max: 1, timeoutMs: 5000, idleInTransactionTimeoutMs: 5000 });
  t.teardown(() => pool.end());
  // The keys each statement carried (a statement sent again unprepared, as on a database that
  // keeps no prepared statement, carries the same keys again).
  const keysPerStatement: number[] = [];
  const counted = {
    query: (statement: { values: unknown[][] }) => { keysPerStatement.push(statement.values[0]!.length); return pool.query(statement as never); },
  } as unknown as typeof pool;
  const objectId = randomUUID();
  const created = await svc.request({ method: 'POST', url: '/api/user', token: svc.userToken({ objectId }) });
  const lookups = new IdentityLookups(counted, ['127.0.0.1']);
  const caller = entraCaller(svc.entra.tenantId, objectId);
  // The pool's one connection is busy for a while: the first statement waits there, out.
  const busy = pool.query('SELECT pg_sleep(0.2)');
  const found: Array<Promise<{ acs_user_id: string } | undefined>> = [lookups.find(caller)];
  for (let turn = 0; turn < 5; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    found.push(lookups.find(caller));
  }
  await busy;
  t.same((await Promise.all(found)).map((row) => row?.acs_user_id), found.map(() => created.json.acsUserIdentity), 'each found');
  t.same([...new Set(keysPerStatement)], [1, 5], 'the first lookup in one statement, the five that came while it was out in another');
});

t.test('the database gone under a batch: each request in it gets its own clear 503, then all are served again', async (t) => {
  const database = await createTestDatabase();
  const proxy = await startTcpProxy(database.url);
  t.teardown(async () => { await proxy.close(); await database.drop(); });
  const cut = await startTestService(t, { DATABASE_URL: proxy.url, DATABASE_TIMEOUT_MS: '1000' });
  const tokens = [cut.userToken({ objectId: randomUUID() }), cut.userToken({ objectId: randomUUID() }), cut.userToken({ objectId: randomUUID() })];
  for (const token of tokens) t.equal((await cut.request({ method: 'POST', url: '/api/user', token })).statusCode, 201);

  await proxy.cut();
  const answers = await Promise.all(tokens.map((token) => cut.request({ url: '/api/user', token })));
  t.same(answers.map((answer) => [answer.statusCode, answer.json.code]), tokens.map(() => [503, 'database_unavailable']));

  await proxy.restore();
  let served: number[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    served = (await Promise.all(tokens.map((token) => cut.request({ url: '/api/user', token })))).map((answer) => answer.statusCode);
    if (served.every((status) => status === 200)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.same(served, [200, 200, 200], 'served again without a restart');
});

t.test('a pooler that drops the prepared statement: the lookup is sent again unprepared, once and for all', {
  // PGlite is one session shared by every connection: the service's own lookups prepared it
  // there already (which the fallback handles too, as "already exists").
  skip: TEST_DATABASE === 'pglite' ? 'needs a session per connection' : false,
}, async (t) => {
  // One connection, so that what is done to it behind pg's back is what the lookups meet.
  // Pools of their own on the test database, of `max` connections.
  const poolOf = (max: number) => {
    const pool = createPool({ connectionString: svc.database.url, max, timeoutMs: 5000, idleInTransactionTimeoutMs: 5000 });
    t.teardown(() => pool.end());
    return pool;
  };
  const pool = poolOf(1);
  const objectId = randomUUID();
  const created = await svc.request({ method: 'POST', url: '/api/user', token: svc.userToken({ objectId }) });
  const warnings: unknown[] = [];
  const lookups = new IdentityLookups(pool, ['127.0.0.1'], (error) => warnings.push(error));
  const caller = entraCaller(svc.entra.tenantId, objectId);
  const find = async () => (await lookups.find(caller))?.acs_user_id;

  t.equal(await find(), created.json.acsUserIdentity, 'found, prepared');
  const prepared = await pool.query("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'identity_lookups'");
  t.equal(prepared.rows[0].n, 1, 'the connection holds the prepared statement');
  // As when PgBouncer hands the next transaction another server connection: pg believes the
  // statement is there, the server has none ("prepared statement does not exist").
  await pool.query('DEALLOCATE identity_lookups');
  t.equal(await find(), created.json.acsUserIdentity, 'found again, sent unprepared');
  t.equal(warnings.length, 1, 'said once');
  t.match(warnings[0], { code: '26000' });
  t.equal(await find(), created.json.acsUserIdentity, 'and so on');
  t.equal(warnings.length, 1);
  const left = await pool.query("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'identity_lookups'");
  t.equal(left.rows[0].n, 0, 'nothing prepared since');

  // The other symptom: a server connection that already has it ("already exists").
  const other = poolOf(1);
  await other.query("PREPARE identity_lookups AS SELECT 1");
  const otherWarnings: unknown[] = [];
  const otherLookups = new IdentityLookups(other, ['127.0.0.1'], (error) => otherWarnings.push(error));
  t.equal((await otherLookups.find(caller))?.acs_user_id, created.json.acsUserIdentity, 'found, unprepared');
  t.match(otherWarnings, [{ code: '42P05' }], 'said once');

  // Two batches out together on two connections, both of which lost it: each is sent again.
  const two = poolOf(2);
  const twoWarnings: unknown[] = [];
  const twoLookups = new IdentityLookups(two, ['127.0.0.1'], (error) => twoWarnings.push(error), 2);
  const findTwice = () => Promise.all([
    twoLookups.find(caller),
    new Promise((resolve) => setImmediate(resolve)).then(() => twoLookups.find(caller)),
  ]);
  t.same((await findTwice()).map((row) => row?.acs_user_id), [created.json.acsUserIdentity, created.json.acsUserIdentity], 'prepared on both');
  await Promise.all([two.query('SELECT pg_sleep(0.05); DEALLOCATE ALL'), two.query('SELECT pg_sleep(0.05); DEALLOCATE ALL')]);
  t.same((await findTwice()).map((row) => row?.acs_user_id), [created.json.acsUserIdentity, created.json.acsUserIdentity], 'both found after the loss');
  t.equal(twoWarnings.length, 1, 'said once');
});
