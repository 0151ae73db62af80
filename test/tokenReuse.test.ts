// ACS token reuse: a recent token is served again to the same identity for the same scopes and
// lifetime, so reload storms cost ACS nothing; revoking stops it at once, on every replica.
import t from 'tap';
import { startOtherReplica, startTestService } from './helpers/testService.js';

const svc = await startTestService(t, { ACS_TOKEN_REUSE_SECONDS: '300' });

t.test('a reload storm costs ACS one token', async (t) => {
  const token = svc.userToken();
  const first = await svc.request({ url: '/api/token', token });
  const issued = svc.acs.counters.tokensIssued;
  const requests = svc.acs.counters.requests;
  for (let i = 0; i < 20; i++) {
    const again = await svc.request({ url: '/api/token', token });
    t.equal(again.json.token, first.json.token);
  }
  t.equal(svc.acs.counters.requests, requests, 'no ACS call for 20 reloads');
  t.equal(svc.acs.counters.tokensIssued, issued);
  const other = await svc.request({ url: '/api/token?scopes=chat&expiresInMinutes=90', token });
  t.not(other.json.token, first.json.token, 'other scopes or lifetime: another token');
});

t.test('revocation stops reuse, on this replica and on another', async (t) => {
  // A second replica: another app on the same database and ACS.
  const other = await startOtherReplica(t, svc, { ACS_TOKEN_REUSE_SECONDS: '300' });
  const token = svc.userToken();
  const call = async (app: typeof other, url = '/api/token', method: 'GET' | 'POST' = 'GET') => {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
    return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : undefined };
  };

  const here = await call(svc.app);
  const there = await call(other);
  t.equal((await call(other)).body.token, there.body.token, 'the other replica reuses its own token');

  t.equal((await call(svc.app, '/api/token/revoke', 'POST')).status, 204);
  const afterHere = await call(svc.app);
  const afterThere = await call(other);
  t.not(afterHere.body.token, here.body.token, 'a new token here');
  t.not(afterThere.body.token, there.body.token, 'and on the other replica, which only read the mapping');
  t.ok(svc.acs.isTokenValid(afterThere.body.token), 'a valid one');
  t.notOk(svc.acs.isTokenValid(there.body.token), 'the old one was revoked');
});

t.test('a replica whose clock runs ahead never serves a token issued before another replica\'s revocation', async (t) => {
  // Its clock a minute ahead of the database's and of the other replica's.
  const ahead = await startOtherReplica(t, svc, { ACS_TOKEN_REUSE_SECONDS: '300' }, { now: () => Date.now() + 60_000 });
  const token = svc.userToken();
  const call = async (app: typeof ahead, url = '/api/token', method: 'GET' | 'POST' = 'GET') => {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
    return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : undefined };
  };
  const before = await call(ahead);
  t.equal(before.status, 200);
  t.equal((await call(ahead)).body.token, before.body.token, 'reused while nothing is revoked');
  t.equal((await call(svc.app, '/api/token/revoke', 'POST')).status, 204, 'revoked on the other replica');
  t.notOk(svc.acs.isTokenValid(before.body.token), 'ACS revoked the token');
  const after = await call(ahead);
  t.not(after.body.token, before.body.token, 'the replica ahead issues a new token');
  t.ok(svc.acs.isTokenValid(after.body.token), 'a valid one');
  t.equal((await call(ahead)).body.token, after.body.token, 'which it then reuses');
});

t.test('a deleted user\'s token is never served again', async (t) => {
  const token = svc.userToken();
  const before = await svc.request({ url: '/api/token', token });
  t.equal((await svc.request({ method: 'DELETE', url: '/api/user', token })).statusCode, 204);
  const after = await svc.request({ url: '/api/token', token });
  t.not(after.json.user.communicationUserId, before.json.user.communicationUserId);
  t.not(after.json.token, before.json.token);
});
