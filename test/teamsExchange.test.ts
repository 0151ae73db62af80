// Teams users, header mode: the client sends the Teams user's Entra token; the real ACS SDK
// exchanges it with the ACS emulator. (On-behalf-of mode: teamsOnBehalfOf.test.ts.)
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startTestService } from './helpers/testService.js';

const lines: string[] = [];
const svc = await startTestService(t, { LOG_LEVEL: 'debug' }, { entra: { tls: true }, logStream: { write: (line) => { lines.push(line); } } });

t.test('header mode: the Teams token of the caller is exchanged', async (t) => {
  const objectId = randomUUID();
  const teamsToken = svc.entra.mintTeamsToken({ objectId });
  const response = await svc.request({ url: '/api/token/teams', token: svc.userToken({ objectId }), headers: { 'teams-user-aad-token': teamsToken } });
  t.equal(response.statusCode, 200);
  t.equal(response.headers['cache-control'], 'no-store');
  const claims = svc.acs.decodeToken(response.json.token)!;
  t.equal(claims.skypeid, `orgid:${objectId}`, 'an ACS token of the Teams identity');
  t.ok(svc.acs.isTokenValid(response.json.token));
  t.equal(svc.acs.counters.teamsExchanges, 1);
  t.equal((await svc.snapshot()).identities.length, 0, 'nothing stored');
});

t.test('header mode: refusals', async (t) => {
  const objectId = randomUUID();
  const caller = svc.userToken({ objectId });
  const exchanges = svc.acs.counters.teamsExchanges;
  const cases: Array<[string, string, number, string]> = [
    ['another user\'s Teams token', svc.entra.mintTeamsToken({ objectId: randomUUID() }), 403, 'teams_token_mismatch'],
    ['a Teams token of another tenant', svc.entra.mintTeamsToken({ objectId, tenantId: randomUUID() }), 403, 'teams_token_mismatch'],
    ['not a JWT', 'definitely-not-a-token', 400, 'invalid_request'],
    ['a JWT without tid/oid', `${Buffer.from('{}').toString('base64url')}.${Buffer.from('{"a":1}').toString('base64url')}.c2ln`, 400, 'invalid_request'],
    ['oversize', `a.${'b'.repeat(9000)}.c`, 400, 'invalid_request'],
  ];
  for (const [name, header, status, code] of cases) {
    const response = await svc.request({ url: '/api/token/teams', token: caller, headers: { 'teams-user-aad-token': header } });
    t.equal(response.statusCode, status, `${name} → ${status}`);
    t.equal(response.json.code, code, `${name}: ${code}`);
  }
  t.equal(svc.acs.counters.teamsExchanges, exchanges, 'ACS never called');

  const expired = await svc.request({ url: '/api/token/teams', token: caller, headers: { 'teams-user-aad-token': svc.entra.mintTeamsToken({ objectId, lifetimeSeconds: -60 }) } });
  t.equal(expired.statusCode, 401);
  t.equal(expired.json.code, 'teams_token_refused');
  t.match(expired.headers['www-authenticate'], /^Bearer realm="teams-user-aad-token"/, 'a challenge that does not call the caller\'s own token invalid');
  t.notMatch(expired.headers['www-authenticate'], /invalid_token/);

  const otherApp = await svc.request({ url: '/api/token/teams', token: caller, headers: { 'teams-user-aad-token': svc.entra.mintTeamsToken({ objectId, appId: randomUUID() }) } });
  t.equal(otherApp.statusCode, 400);
  t.equal(otherApp.json.code, 'teams_token_rejected');

  const badBearer = await svc.request({ url: '/api/token/teams', token: `${caller}x`, headers: { 'teams-user-aad-token': svc.entra.mintTeamsToken({ objectId }) } });
  t.equal(badBearer.statusCode, 401, 'the caller is authenticated first');
  t.equal(badBearer.json.code, 'invalid_token');
});

t.test('ACS throttling and outages', async (t) => {
  const objectId = randomUUID();
  const request = () => svc.request({ url: '/api/token/teams', token: svc.userToken({ objectId }), headers: { 'teams-user-aad-token': svc.entra.mintTeamsToken({ objectId }) } });
  svc.acs.injectFault({ status: 429, retryAfterSeconds: 9, operations: ['exchangeTeamsToken'] });
  const throttled = await request();
  t.equal(throttled.statusCode, 429);
  t.equal(throttled.headers['retry-after'], '9');
  svc.acs.injectFault({ status: 503, times: Infinity, operations: ['exchangeTeamsToken'] });
  t.teardown(() => svc.acs.clearFaults());
  const down = await request();
  t.equal(down.statusCode, 503);
  t.equal(down.json.code, 'acs_unavailable');
});

t.test('without a header and without a client secret: 400 naming both ways', async (t) => {
  const response = await svc.request({ url: '/api/token/teams', token: svc.userToken() });
  t.equal(response.statusCode, 400);
  t.equal(response.json.code, 'teams_not_configured');
  t.match(response.json.detail, /teams-user-aad-token/);
  t.match(response.json.detail, /AZURE_CLIENT_SECRET/);
  t.same(response.json.errors, [{ in: 'header', name: 'teams-user-aad-token', reason: 'is required when the service has no AZURE_CLIENT_SECRET' }]);
});

t.test('no Teams token, user token or ACS token reaches the logs', async (t) => {
  const objectId = randomUUID();
  const caller = svc.userToken({ objectId });
  const teamsToken = svc.entra.mintTeamsToken({ objectId });
  const response = await svc.request({ url: '/api/token/teams', token: caller, headers: { 'teams-user-aad-token': teamsToken } });
  t.equal(response.statusCode, 200);
  const log = lines.join('');
  t.ok(log.length > 0);
  for (const secret of [caller, teamsToken, response.json.token as string]) {
    t.notOk(log.includes(secret.split('.')[2]!), 'no token signature in the logs');
  }
});
