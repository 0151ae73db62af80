// The database failing in the middle of creating an identity: the connection holding the
// creation's transaction is killed while ACS is creating. The identity ACS made must not be
// left alive unrecorded.
import t from 'tap';
import { TEST_DATABASE } from './helpers/testDatabase.js';
import { startTestService, type TestService } from './helpers/testService.js';

// These faults need a server: killing one session of several, and a pool of several sessions.
const skip = TEST_DATABASE === 'pglite' && 'PGlite is one session: no other connection to kill or starve';

const svc = await startTestService(t);
t.afterEach(() => svc.acs.clearFaults());

/** Once ACS has the create request, kills the service's connection that waits inside a transaction. */
async function killTransactionsWhileAcsWorks(service: TestService, acsRequestsBefore: number): Promise<number> {
  for (let i = 0; i < 50 && service.acs.counters.requests === acsRequestsBefore; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  for (let i = 0; i < 50; i++) {
    const { rowCount } = await service.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'acs-token-service' AND state = 'idle in transaction'`,
    );
    if (rowCount) return rowCount;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return 0;
}

t.test('the store fails after ACS created: the new identity is deleted again', { skip }, async (t) => {
  const token = svc.userToken();
  svc.acs.resetCounters();
  svc.acs.setLatency(300);
  const pending = svc.request({ url: '/api/token', token });
  t.ok(await killTransactionsWhileAcsWorks(svc, 0) > 0, 'killed the creating transaction');
  const response = await pending;
  t.equal(response.statusCode, 503);
  t.equal(response.json.code, 'database_unavailable');
  t.equal(svc.acs.counters.identitiesCreated, 1, 'ACS did create one');
  t.equal(svc.acs.counters.deletions, 1, 'and the service deleted it');
  svc.acs.clearFaults();
  const retried = await svc.request({ url: '/api/token', token });
  t.equal(retried.statusCode, 200, 'the pool recovers by itself');
});

t.test('…and when ACS cannot delete it either, its deletion is queued', { skip }, async (t) => {
  const token = svc.userToken();
  svc.acs.resetCounters();
  svc.acs.setLatency(300);
  svc.acs.injectFault({ status: 500, times: Infinity, operations: ['deleteIdentity'] });
  const pending = svc.request({ method: 'POST', url: '/api/user', token });
  t.ok(await killTransactionsWhileAcsWorks(svc, 0) > 0, 'killed the creating transaction');
  const response = await pending;
  t.equal(response.statusCode, 503);
  t.equal(svc.acs.counters.identitiesCreated, 1);
  const alive = svc.acs.identityIds();
  const queued = await svc.db.query<{ acs_user_id: string }>('SELECT acs_user_id FROM acs_identity_deletions');
  const mapped = await svc.db.query<{ acs_user_id: string }>('SELECT acs_user_id FROM acs_identities');
  const known = new Set([...queued.rows, ...mapped.rows].map((r) => r.acs_user_id));
  t.same(alive.filter((id) => !known.has(id)), [], 'every live identity is mapped or queued for deletion');
});

t.test('…queued by the same backoff rule as a failed user deletion', { skip }, async (t) => {
  const token = svc.userToken();
  svc.acs.resetCounters();
  svc.acs.setLatency(300);
  svc.acs.injectFault({ status: 429, retryAfterSeconds: 90, times: Infinity, operations: ['deleteIdentity'] });
  const before = svc.acs.identityIds();
  const pending = svc.request({ method: 'POST', url: '/api/user', token });
  t.ok(await killTransactionsWhileAcsWorks(svc, 0) > 0, 'killed the creating transaction');
  t.equal((await pending).statusCode, 503);
  const orphan = svc.acs.identityIds().find((id) => !before.includes(id));
  const { rows } = await svc.db.query<{ attempts: number; due_in: number; last_error: string }>(
    'SELECT attempts, last_error, extract(epoch FROM next_attempt_at - now())::float AS due_in FROM acs_identity_deletions WHERE acs_user_id = $1', [orphan]);
  t.equal(rows[0]?.attempts, 1, 'the failed deletion is counted');
  t.match(rows[0]?.last_error, /throttled/);
  t.ok(rows[0]!.due_in > 85 && rows[0]!.due_in <= 90, `due after ACS's Retry-After: ${rows[0]!.due_in.toFixed(1)} s`);
});

t.test('a burst of first requests for one user does not hold the pool while ACS is slow', { skip }, async (t) => {
  // Statements may take 1 s, ACS takes 1.5 s: requests that waited on the creation inside the
  // database would time out; they wait outside it and read the result.
  const slow = await startTestService(t, { DATABASE_POOL_MAX: '3', DATABASE_TIMEOUT_MS: '1000', ACS_REQUEST_TIMEOUT_MS: '4000' });
  slow.acs.setLatency(1500);
  const objectId = '7a1f7f3e-0b6c-4c59-a4f1-2f8d4f0b9a10';
  const burst = Array.from({ length: 8 }, () => slow.request({ url: '/api/token', token: slow.userToken({ objectId }) }));
  const bystander = slow.request({ url: '/api/user', token: slow.userToken() });
  const answers = await Promise.all(burst);
  t.same(answers.map((a) => a.statusCode), Array(8).fill(200));
  t.equal(new Set(answers.map((a) => a.json.user.communicationUserId)).size, 1, 'one identity');
  t.equal(slow.acs.counters.identitiesCreated, 1);
  t.equal((await bystander).statusCode, 404, 'another user is served meanwhile');
});
