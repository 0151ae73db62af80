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

  // Wait past the clock margin, so the revocation is clearly later than both tokens.
  await new Promise((resolve) => setTimeout(resolve, 2100));
  t.equal((await call(svc.app, '/api/token/revoke', 'POST')).status, 204);
  const afterHere = await call(svc.app);
  const afterThere = await call(other);
  t.not(afterHere.body.token, here.body.token, 'a new token here');
  t.not(afterThere.body.token, there.body.token, 'and on the other replica, which only read the mapping');
  t.ok(svc.acs.isTokenValid(afterThere.body.token), 'a valid one');
  t.notOk(svc.acs.isTokenValid(there.body.token), 'the old one was revoked');
});

t.test('a deleted user\'s token is never served again', async (t) => {
  const token = svc.userToken();
  const before = await svc.request({ url: '/api/token', token });
  t.equal((await svc.request({ method: 'DELETE', url: '/api/user', token })).statusCode, 204);
  const after = await svc.request({ url: '/api/token', token });
  t.not(after.json.user.communicationUserId, before.json.user.communicationUserId);
  t.not(after.json.token, before.json.token);
});
