// Teams users, on-behalf-of mode: no header; the service gets the Teams token itself with the
// real @azure/msal-node client, talking to the Entra ID emulator over TLS (trusted through
// AZURE_AUTHORITY_CA_FILE, for this client only), then exchanges it with the ACS emulator.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startTestService } from './helpers/testService.js';

const SECRET = 'test-client-secret-value';
const lines: string[] = [];
const svc = await startTestService(t, { AZURE_CLIENT_SECRET: SECRET, LOG_LEVEL: 'debug' }, {
  entra: { tls: true, clientSecret: SECRET },
  logStream: { write: (line) => { lines.push(line); } },
});
t.afterEach(() => svc.entra.setTokenEndpointFault(undefined));

t.test('the Teams token is obtained on the caller\'s behalf, then from the cache', async (t) => {
  const objectId = randomUUID();
  const caller = svc.userToken({ objectId });
  const grants = svc.entra.counters.oboGrants;
  const first = await svc.request({ url: '/api/token/teams', token: caller });
  t.equal(first.statusCode, 200, first.body);
  t.equal(svc.acs.decodeToken(first.json.token)?.skypeid, `orgid:${objectId}`);
  t.equal(svc.entra.counters.oboGrants, grants + 1, 'one grant from Entra ID');

  const second = await svc.request({ url: '/api/token/teams', token: caller });
  t.equal(second.statusCode, 200);
  t.equal(svc.entra.counters.oboGrants, grants + 1, 'the second call was served from the cache');

  const otherUser = await svc.request({ url: '/api/token/teams', token: svc.userToken() });
  t.equal(otherUser.statusCode, 200);
  t.equal(svc.entra.counters.oboGrants, grants + 2, 'another user is another grant');

  const log = lines.join('');
  for (const token of [caller, first.json.token as string]) t.notOk(log.includes(token.split('.')[2]!), 'no token in the logs');
});

t.test('a header still wins over on-behalf-of', async (t) => {
  const objectId = randomUUID();
  const grants = svc.entra.counters.oboGrants;
  const response = await svc.request({ url: '/api/token/teams', token: svc.userToken({ objectId }), headers: { 'teams-user-aad-token': svc.entra.mintTeamsToken({ objectId }) } });
  t.equal(response.statusCode, 200);
  t.equal(svc.entra.counters.oboGrants, grants, 'no grant asked for');
});

t.test('Entra ID\'s refusals become clear answers, without Entra\'s trace ids as the text', async (t) => {
  const cases = [
    {
      fault: { status: 400, error: 'invalid_grant', suberror: 'consent_required', description: "AADSTS65001: The user or administrator has not consented to use the application with ID 'x' named 'y'." },
      status: 403, code: 'teams_consent_required', detail: /administrator must grant consent.*Teams\.ManageCalls and Teams\.ManageChats.*AADSTS65001/,
    },
    {
      fault: { status: 400, error: 'interaction_required', description: 'AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.', claims: '{"access_token":{"capolids":{"essential":true}}}' },
      status: 401, code: 'teams_interaction_required', detail: /sign in again interactively.*AADSTS50076/,
    },
    {
      fault: { status: 400, error: 'invalid_grant', description: 'AADSTS50173: The provided grant has expired due to it being revoked.' },
      status: 401, code: 'teams_obo_refused', detail: /refused to exchange.*AADSTS50173/,
    },
    {
      fault: { status: 400, error: 'invalid_resource', description: 'AADSTS500011: The resource principal named https://auth.msft.communication.azure.com was not found in the tenant.' },
      status: 502, code: 'entra_rejected', detail: /on-behalf-of request \(AADSTS500011\).*API permissions/,
    },
  ];
  for (const { fault, status, code, detail } of cases) {
    svc.entra.setTokenEndpointFault(fault);
    // A new user each time, so that the cache does not answer.
    const response = await svc.request({ url: '/api/token/teams', token: svc.userToken() });
    t.equal(response.statusCode, status, `${fault.error} ${fault.description.slice(0, 11)} → ${status}`);
    t.equal(response.json.code, code);
    t.match(response.json.detail, detail);
    t.notMatch(response.body, /Trace ID|Correlation ID/, 'Entra\'s raw text is not passed on');
    if (fault.error === 'interaction_required') {
      const challenge = String(response.headers['www-authenticate']);
      t.match(challenge, /^Bearer error="insufficient_claims"/, 'a claims challenge');
      const claims = /claims="([^"]+)"/.exec(challenge)?.[1];
      t.equal(claims && Buffer.from(claims, 'base64').toString(), fault.claims, 'carrying Entra\'s claims');
    } else if (status === 401) {
      t.match(response.headers['www-authenticate'], /^Bearer error="invalid_token"/);
    }
    if (status !== 503) t.notOk(response.headers['retry-after'], 'a refusal is not "retry later"');
  }
});

t.test('a caller token that this service accepts but Entra ID will not exchange: 401', async (t) => {
  // Expired a minute ago: within this service's clock tolerance, but Entra ID (the emulator
  // allows no skew) refuses the assertion with AADSTS500133.
  const now = Math.floor(Date.now() / 1000);
  const response = await svc.request({ url: '/api/token/teams', token: svc.userToken({ claims: { exp: now - 60, nbf: now - 3600, iat: now - 3600 } }) });
  t.equal(response.statusCode, 401);
  t.equal(response.json.code, 'teams_obo_refused');
  t.match(response.json.detail, /AADSTS500133/);
});

t.test('Entra ID failing is a 503 with Retry-After (and MSAL then holds back for a while)', async (t) => {
  // Own service: after a 5xx, MSAL throttles the same request for a minute, as Entra asks.
  const failing = await startTestService(t, { AZURE_CLIENT_SECRET: SECRET }, { entra: { tls: true, clientSecret: SECRET } });
  failing.entra.setTokenEndpointFault({ status: 503, error: 'temporarily_unavailable', description: 'AADSTS90033: A transient error has occurred.' });
  // MSAL adds ?client-request-id= to the token endpoint's URL.
  const tokenRequests = () => failing.entra.requests.filter((url) => url.split('?')[0]!.endsWith('/oauth2/v2.0/token')).length;
  for (let i = 0; i < 2; i++) {
    const response = await failing.request({ url: '/api/token/teams', token: failing.userToken() });
    t.equal(response.statusCode, 503);
    t.equal(response.json.code, 'entra_unavailable');
    t.ok(response.headers['retry-after']);
  }
  const asked = tokenRequests();
  t.ok(asked >= 1, 'Entra ID was asked');
  await failing.request({ url: '/api/token/teams', token: failing.userToken() });
  t.equal(tokenRequests(), asked, 'MSAL did not ask Entra again meanwhile');
});

t.test('a wrong client secret is the service\'s fault: 502 naming the setting', async (t) => {
  const misconfigured = await startTestService(t, { AZURE_CLIENT_SECRET: 'not-the-secret' }, { entra: { tls: true, clientSecret: SECRET } });
  const response = await misconfigured.request({ url: '/api/token/teams', token: misconfigured.userToken() });
  t.equal(response.statusCode, 502);
  t.equal(response.json.code, 'entra_rejected');
  t.match(response.json.detail, /AZURE_CLIENT_SECRET.*|AADSTS7000215/);
  t.equal(misconfigured.acs.counters.teamsExchanges, 0);
});

t.test('the authority\'s certificate is checked: without the CA file, nothing from it is trusted', async (t) => {
  const untrusting = await startTestService(t, { AZURE_CLIENT_SECRET: SECRET, AZURE_AUTHORITY_CA_FILE: '' }, { entra: { tls: true, clientSecret: SECRET } });
  const ready = await untrusting.request({ url: '/readyz' });
  t.equal(ready.statusCode, 503, 'the keys cannot be read from an untrusted authority');
  t.equal(ready.json.checks.signingKeys, 'failing');
  const teams = await untrusting.request({ url: '/api/token/teams', token: untrusting.userToken() });
  t.equal(teams.statusCode, 503, 'and no token is accepted or exchanged');
  t.equal(teams.json.code, 'keys_unavailable');
  t.equal(untrusting.entra.counters.oboGrants, 0);
});
