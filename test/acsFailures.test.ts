// ACS failing in each way the emulator can fail: every failure has its documented answer, no
// upstream text leaks, and the mapping stays consistent with what ACS holds.
import { randomBytes } from 'node:crypto';
import { CommunicationIdentityClient } from '@azure/communication-identity';
import t from 'tap';
import { startTestService } from './helpers/testService.js';

const svc = await startTestService(t, { ACS_REQUEST_TIMEOUT_MS: '500' });
const sideDoor = new CommunicationIdentityClient(svc.acs.connectionString, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
t.afterEach(() => svc.acs.clearFaults());

async function userWithIdentity(): Promise<{ token: string; acsUserId: string }> {
  const token = svc.userToken();
  const created = await svc.request({ method: 'POST', url: '/api/user', token });
  return { token, acsUserId: created.json.acsUserIdentity };
}

t.test('throttling (429) is passed on with Retry-After', async (t) => {
  const { token } = await userWithIdentity();
  svc.acs.injectFault({ status: 429, retryAfterSeconds: 7 });
  const response = await svc.request({ url: '/api/token', token });
  t.equal(response.statusCode, 429);
  t.equal(response.json.code, 'acs_throttled');
  t.equal(response.headers['retry-after'], '7');
});

t.test('a passing ACS error is retried; a lasting one is a 503 with Retry-After, without upstream text', async (t) => {
  const { token } = await userWithIdentity();
  svc.acs.injectFault({ status: 500 });
  const requests = svc.acs.counters.requests;
  const retried = await svc.request({ url: '/api/token', token });
  t.equal(retried.statusCode, 200, 'one 500, then success on the retry');
  t.equal(svc.acs.counters.requests, requests + 2);

  svc.acs.injectFault({ status: 500, code: 'InternalError', message: 'secret upstream detail', times: Infinity });
  const response = await svc.request({ url: '/api/token', token });
  t.equal(response.statusCode, 503);
  t.equal(response.json.code, 'acs_unavailable');
  t.ok(Number(response.headers['retry-after']) > 0);
  t.notMatch(response.body, /secret upstream detail|InternalError/);
});

t.test('ACS hanging past the timeout is a 503 after the timeout, not a hang', async (t) => {
  const { token } = await userWithIdentity();
  svc.acs.setHang(true);
  const started = Date.now();
  const response = await svc.request({ url: '/api/token', token });
  const elapsed = Date.now() - started;
  t.equal(response.statusCode, 503);
  t.equal(response.json.code, 'acs_unavailable');
  t.ok(elapsed >= 450 && elapsed < 3000, `answered after ${elapsed} ms (timeout 500 ms)`);
});

t.test('throttling with a short Retry-After is waited out within the timeout', async (t) => {
  const { token } = await userWithIdentity();
  const requests = svc.acs.counters.requests;
  svc.acs.injectFault({ status: 429, retryAfterSeconds: 0, operations: ['issueToken'] });
  const response = await svc.request({ url: '/api/token', token });
  t.equal(response.statusCode, 200);
  t.equal(svc.acs.counters.requests, requests + 2, 'retried once');
});

t.test('creating an identity is never retried (it is not idempotent)', async (t) => {
  const requests = svc.acs.counters.requests;
  svc.acs.injectFault({ status: 500, operations: ['createIdentity'] });
  const response = await svc.request({ url: '/api/token', token: svc.userToken() });
  t.equal(response.statusCode, 503);
  t.equal(svc.acs.counters.requests, requests + 1, 'one call only');
});

t.test('a failed first creation stores nothing, and the next request succeeds', async (t) => {
  const token = svc.userToken();
  const before = await svc.snapshot();
  svc.acs.injectFault({ status: 503, operations: ['createIdentity'] });
  const failed = await svc.request({ url: '/api/token', token });
  t.equal(failed.statusCode, 503);
  t.same(await svc.snapshot(), before, 'no mapping for an identity that was not created');
  const retried = await svc.request({ url: '/api/token', token });
  t.equal(retried.statusCode, 200);
});

t.test('an identity deleted behind the service\'s back is reported, not hidden', async (t) => {
  const { token, acsUserId } = await userWithIdentity();
  await sideDoor.deleteUser({ communicationUserId: acsUserId });
  const response = await svc.request({ url: '/api/token', token });
  t.equal(response.statusCode, 502);
  t.equal(response.json.code, 'acs_identity_missing');
  // The way out the answer names: delete (404 from ACS counts as done), then start over.
  t.equal((await svc.request({ method: 'DELETE', url: '/api/user', token })).statusCode, 204);
  const fresh = await svc.request({ url: '/api/token', token });
  t.equal(fresh.statusCode, 200);
  t.not(fresh.json.user.communicationUserId, acsUserId);
});

t.test('an identity of another ACS resource is reported as such', async (t) => {
  const token = svc.userToken({ objectId: '11111111-2222-4333-8444-555555555555' });
  await svc.db.query(
    "INSERT INTO acs_identities (tenant_id, object_id, acs_user_id, acs_resource) VALUES ($1, $2, $3, '')",
    [svc.entra.tenantId, '11111111-2222-4333-8444-555555555555', '8:acs:another-resource_00000000-0000-0000-0000-000000000001'],
  );
  const response = await svc.request({ url: '/api/token', token });
  t.equal(response.statusCode, 502);
  t.equal(response.json.code, 'acs_identity_not_owned');
});

t.test('revocation failures are answered, the identity stays', async (t) => {
  const { token, acsUserId } = await userWithIdentity();
  svc.acs.injectFault({ status: 500, times: Infinity, operations: ['revokeTokens'] });
  const response = await svc.request({ method: 'POST', url: '/api/token/revoke', token });
  t.equal(response.statusCode, 503);
  t.ok(svc.acs.hasIdentity(acsUserId));
});

t.test('deletion while ACS fails: 202, no more tokens for it, retried until done', async (t) => {
  const { token, acsUserId } = await userWithIdentity();
  const issued = await svc.request({ url: '/api/token', token });
  svc.acs.injectFault({ status: 500, times: Infinity, operations: ['deleteIdentity'] });

  const response = await svc.request({ method: 'DELETE', url: '/api/user', token });
  t.equal(response.statusCode, 202);
  t.equal(response.json.status, 'queued');
  t.ok(svc.acs.hasIdentity(acsUserId), 'ACS still has it');
  const queued = await svc.db.query('SELECT attempts, last_error FROM acs_identity_deletions WHERE acs_user_id = $1', [acsUserId]);
  t.equal(queued.rowCount, 1, 'the deletion is recorded');
  t.equal(queued.rows[0].attempts, 1);

  const fresh = await svc.request({ url: '/api/token', token });
  t.equal(fresh.statusCode, 200);
  t.not(fresh.json.user.communicationUserId, acsUserId, 'a new identity, never the deleted one');
  t.ok(svc.acs.isTokenValid(issued.json.token), 'old tokens live until ACS deletes the identity');

  // While ACS still fails, a retry pass keeps the record and pushes it back.
  await svc.db.query('UPDATE acs_identity_deletions SET next_attempt_at = now()');
  await svc.app.identityDeletions.retryDue();
  const stillQueued = await svc.db.query('SELECT attempts FROM acs_identity_deletions WHERE acs_user_id = $1', [acsUserId]);
  t.equal(stillQueued.rows[0]?.attempts, 2, 'attempt counted, record kept');

  svc.acs.clearFaults();
  await svc.db.query('UPDATE acs_identity_deletions SET next_attempt_at = now()');
  await svc.app.identityDeletions.retryDue();
  t.notOk(svc.acs.hasIdentity(acsUserId), 'the retry deleted it in ACS');
  t.notOk(svc.acs.isTokenValid(issued.json.token), 'and so its tokens');
  const done = await svc.db.query('SELECT 1 FROM acs_identity_deletions WHERE acs_user_id = $1', [acsUserId]);
  t.equal(done.rowCount, 0, 'the record is gone once ACS confirmed');
});

t.test('deletion while ACS hangs is also queued (202) after the timeout', async (t) => {
  const { token, acsUserId } = await userWithIdentity();
  svc.acs.setHang(true, ['deleteIdentity']);
  const response = await svc.request({ method: 'DELETE', url: '/api/user', token });
  t.equal(response.statusCode, 202);
  const queued = await svc.db.query('SELECT 1 FROM acs_identity_deletions WHERE acs_user_id = $1', [acsUserId]);
  t.equal(queued.rowCount, 1);
});

t.test('after all of this, every live ACS identity is mapped or queued for deletion', async (t) => {
  const mapped = await svc.db.query<{ acs_user_id: string }>('SELECT acs_user_id FROM acs_identities UNION ALL SELECT acs_user_id FROM acs_identity_deletions');
  const known = new Set(mapped.rows.map((r) => r.acs_user_id));
  const orphans = svc.acs.identityIds().filter((id) => !known.has(id));
  t.same(orphans, [], 'no orphan identity');
});

t.test('a wrong ACS access key is a 502 that names the configuration, and stores nothing', async (t) => {
  const wrongKey = `endpoint=${svc.acs.endpoint}/;accesskey=${randomBytes(32).toString('base64')}`;
  const misconfigured = await startTestService(t, { ACS_CONNECTION_STRING: wrongKey });
  const before = await misconfigured.snapshot();
  const response = await misconfigured.request({ url: '/api/token', token: misconfigured.userToken() });
  t.equal(response.statusCode, 502);
  t.equal(response.json.code, 'acs_rejected');
  t.match(response.json.detail, /ACS configuration/);
  t.same(await misconfigured.snapshot(), before);
});
