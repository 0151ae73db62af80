// The whole life of a user, over HTTP, against a real PostgreSQL and the ACS emulator.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startTestService } from './helpers/testService.js';

const svc = await startTestService(t);

t.test('first token creates one identity, later tokens reuse it, deletion starts over', async (t) => {
  const objectId = randomUUID();
  const token = svc.userToken({ objectId });
  svc.acs.resetCounters();

  const first = await svc.request({ url: '/api/token', token });
  t.equal(first.statusCode, 200);
  t.equal(first.headers['cache-control'], 'no-store');
  const acsUserId: string = first.json.user.communicationUserId;
  t.match(acsUserId, /^8:acs:/);
  t.ok(svc.acs.isTokenValid(first.json.token), 'the ACS token is one the emulator issued');
  t.equal(svc.acs.counters.identitiesCreated, 1);

  // Another Entra token of the same user, minted later, maps to the same identity.
  const second = await svc.request({ url: '/api/token', token: svc.userToken({ objectId }) });
  t.equal(second.statusCode, 200);
  t.equal(second.json.user.communicationUserId, acsUserId);
  t.not(second.json.token, first.json.token, 'a new ACS token each time');
  t.equal(svc.acs.counters.identitiesCreated, 1, 'still one identity');

  const user = await svc.request({ url: '/api/user', token });
  t.equal(user.statusCode, 200);
  t.equal(user.json.acsUserIdentity, acsUserId);

  const revoked = await svc.request({ method: 'POST', url: '/api/token/revoke', token });
  t.equal(revoked.statusCode, 204);
  t.notOk(svc.acs.isTokenValid(second.json.token), 'revoked tokens are refused by ACS');
  t.ok(svc.acs.hasIdentity(acsUserId), 'revocation keeps the identity');

  const deleted = await svc.request({ method: 'DELETE', url: '/api/user', token });
  t.equal(deleted.statusCode, 204);
  t.notOk(svc.acs.hasIdentity(acsUserId), 'the ACS identity is gone');
  const rows = await svc.db.query('SELECT * FROM acs_identities WHERE object_id = $1', [objectId]);
  t.equal(rows.rowCount, 0, 'the mapping is gone');
  const queued = await svc.db.query('SELECT * FROM acs_identity_deletions WHERE acs_user_id = $1', [acsUserId]);
  t.equal(queued.rowCount, 0, 'nothing left to retry');

  const again = await svc.request({ method: 'DELETE', url: '/api/user', token });
  t.equal(again.statusCode, 204, 'deleting again is fine');

  const noUser = await svc.request({ url: '/api/user', token });
  t.equal(noUser.statusCode, 404);
  t.equal(noUser.json.code, 'identity_not_found');

  const fresh = await svc.request({ url: '/api/token', token });
  t.equal(fresh.statusCode, 200);
  t.not(fresh.json.user.communicationUserId, acsUserId, 'a new identity after deletion');
  t.equal(svc.acs.counters.identitiesCreated, 2);
});

t.test('two users never share an identity', async (t) => {
  const alice = await svc.request({ url: '/api/token', token: svc.userToken() });
  const bob = await svc.request({ url: '/api/token', token: svc.userToken() });
  t.equal(alice.statusCode, 200);
  t.equal(bob.statusCode, 200);
  t.not(alice.json.user.communicationUserId, bob.json.user.communicationUserId);
});

t.test('POST /api/user creates once (201), then answers 200 with the same identity', async (t) => {
  const token = svc.userToken();
  const created = await svc.request({ method: 'POST', url: '/api/user', token });
  t.equal(created.statusCode, 201);
  const existing = await svc.request({ method: 'POST', url: '/api/user', token });
  t.equal(existing.statusCode, 200);
  t.same(existing.json, created.json);
  const viaToken = await svc.request({ url: '/api/token', token });
  t.equal(viaToken.json.user.communicationUserId, created.json.acsUserIdentity);
});

t.test('revoking without an identity is a no-op', async (t) => {
  svc.acs.resetCounters();
  const response = await svc.request({ method: 'POST', url: '/api/token/revoke', token: svc.userToken() });
  t.equal(response.statusCode, 204);
  t.equal(svc.acs.counters.requests, 0, 'ACS was not called');
});

t.test('concurrent first requests of one user create exactly one identity', async (t) => {
  const objectId = randomUUID();
  svc.acs.resetCounters();
  svc.acs.setLatency(100);
  t.teardown(() => svc.acs.clearFaults());
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) =>
    svc.request(i % 3 === 0 ? { method: 'POST', url: '/api/user', token: svc.userToken({ objectId }) } : { url: '/api/token', token: svc.userToken({ objectId }) })));
  const ids = new Set(answers.map((a) => a.json.user?.communicationUserId ?? a.json.acsUserIdentity));
  t.same(answers.map((a) => a.statusCode).filter((s) => s !== 200 && s !== 201), []);
  t.equal(ids.size, 1, 'every answer names the same identity');
  t.equal(svc.acs.counters.identitiesCreated, 1, 'ACS created one identity');
});

t.test('x-request-id: given ids are echoed when plain, replaced when not', async (t) => {
  const echoed = await svc.request({ url: '/healthz', headers: { 'x-request-id': 'trace-42' } });
  t.equal(echoed.headers['x-request-id'], 'trace-42');
  const replaced = await svc.request({ url: '/healthz', headers: { 'x-request-id': 'bad id\u0000with junk' } });
  t.match(replaced.headers['x-request-id'], /^[0-9a-f-]{36}$/);
});
