// AUTH_ISSUERS: OpenID Connect issuers beside Entra ID, emulated by the Entra emulator's
// generic issuer (/oidc, ES256). Same strictness as for Entra: the token's `iss` picks the
// rules and the key set before any key is fetched; keys of one issuer never verify another's
// tokens, even when their `kid`s collide; an unlisted issuer costs no fetch; users are keyed
// by (issuer, subject).
import { createPublicKey, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import Fastify from 'fastify';
import t from 'tap';
import { entraCaller, oidcCaller } from '../src/auth/caller.js';
import { startEntraEmulator, type EntraEmulator } from '../emulators/entraEmulator.js';
import { signJwt } from '../emulators/jwtSigner.js';
import { startTestService } from './helpers/testService.js';
import { startServiceProcess } from './helpers/serviceProcess.js';

// A service of its own per subtest: a time budget of its own (README, Tests).
t.setTimeout(240_000);

const SHARED_KID = 'the-same-kid-at-both-issuers';

/** A service trusting Entra, the emulator's own /oidc issuer (scope "tokens") and a second one's. */
async function startService(t: Parameters<typeof startTestService>[0], second: EntraEmulator) {
  return startTestService(t, (entra) => ({
    AUTH_ISSUERS: JSON.stringify([
      { issuer: entra.oidc.issuer, audience: entra.oidc.audience, algorithms: ['ES256'], scope: 'tokens' },
      { issuer: second.oidc.issuer, audience: second.oidc.audience, algorithms: ['ES256', 'RS256'] },
    ]),
  }), { entra: { oidc: { kid: SHARED_KID } } });
}

t.test('an ES256 issuer end to end: token, user, revoke, delete; Teams says Entra only', async (t) => {
  const second = await startEntraEmulator({ oidc: { kid: SHARED_KID } });
  t.teardown(() => second.close());
  const svc = await startService(t, second);
  const token = svc.entra.oidc.mintToken({ subject: 'alice' });

  const issued = await svc.request({ url: '/api/token?scopes=chat', token });
  t.equal(issued.statusCode, 200);
  const user = await svc.request({ url: '/api/user', token });
  t.equal(user.statusCode, 200);
  t.equal(user.json.acsUserIdentity, issued.json.user.communicationUserId, 'one identity for the user');
  t.match(user.json.acsUserIdentity, /^8:acs:/);
  const { rows } = await svc.db.query('SELECT tenant_id, object_id FROM acs_identities');
  t.same(rows, [{ tenant_id: svc.entra.oidc.issuer, object_id: 'alice' }], 'keyed by (issuer, subject)');

  t.equal((await svc.request({ method: 'POST', url: '/api/token/revoke', token })).statusCode, 204);
  const teams = await svc.request({ url: '/api/token/teams', token, headers: { 'teams-user-aad-token': svc.entra.mintTeamsToken() } });
  t.equal(teams.statusCode, 400);
  t.equal(teams.json.code, 'teams_requires_entra');
  t.equal((await svc.request({ method: 'DELETE', url: '/api/user', token })).statusCode, 204);
  t.equal((await svc.request({ url: '/api/user', token })).statusCode, 404, 'gone');
  t.equal(svc.acs.counters.deletions, 1, 'and deleted in ACS');

  // A scope list (as Okta writes `scp`) counts as well as a space-separated `scope`.
  const listed = svc.entra.oidc.mintToken({ claims: { scope: undefined, scp: ['openid', 'tokens'] } });
  t.equal((await svc.request({ url: '/api/user', method: 'POST', token: listed })).statusCode, 201);
});

t.test('the same subject at two issuers, or as an Entra oid, is three users', async (t) => {
  const second = await startEntraEmulator({ oidc: { kid: SHARED_KID } });
  t.teardown(() => second.close());
  const svc = await startService(t, second);
  const subject = randomUUID();
  const ids = [];
  for (const token of [svc.entra.oidc.mintToken({ subject }), second.oidc.mintToken({ subject }), svc.userToken({ objectId: subject })]) {
    const answer = await svc.request({ method: 'POST', url: '/api/user', token });
    t.equal(answer.statusCode, 201);
    ids.push(answer.json.acsUserIdentity);
  }
  t.equal(new Set(ids).size, 3, 'three ACS identities');
  // Issuer URLs and subjects may both hold "/": their users' hashes must not meet.
  t.not(svc.app.hashUser(oidcCaller('https://idp.example.com/a', 'b')), svc.app.hashUser(oidcCaller('https://idp.example.com', 'a/b')));
  // The user keys behind every audit hash and rate-limit key written so far: they must not change.
  t.equal(oidcCaller('https://idp.example.com', 'a/b').userKey, '23:https://idp.example.com/a/b');
  t.equal(entraCaller(svc.entra.tenantId, subject).userKey, `${svc.entra.tenantId}/${subject}`);
});

t.test('keys of one issuer never verify a token claiming another, even with the same kid', async (t) => {
  const second = await startEntraEmulator({ oidc: { kid: SHARED_KID } });
  t.teardown(() => second.close());
  const svc = await startService(t, second);
  t.equal(svc.entra.oidc.kid, second.oidc.kid, 'both issuers publish a key with the same kid');
  const before = await svc.snapshot();

  const now = Math.floor(Date.now() / 1000);
  const claimsOf = (issuer: { issuer: string; audience: string }) => ({ iss: issuer.issuer, aud: issuer.audience, sub: 'mallory', iat: now, exp: now + 600, scope: 'tokens' });
  const cases = [
    { name: 'claims issuer A, signed with B\'s key (same kid)', detail: /signature/, token: signJwt({ alg: 'ES256', kid: SHARED_KID }, claimsOf(svc.entra.oidc), second.oidc.privateKey) },
    { name: 'claims issuer B, signed with A\'s key (same kid)', detail: /signature/, token: signJwt({ alg: 'ES256', kid: SHARED_KID }, claimsOf(second.oidc), svc.entra.oidc.privateKey) },
    { name: 'claims an OIDC issuer, signed with Entra\'s key and kid', detail: /unknown key/, token: signJwt({ alg: 'RS256', kid: svc.entra.signingKey.kid }, claimsOf(second.oidc), svc.entra.signingKey.privateKey) },
    { name: 'claims Entra, signed with an OIDC issuer\'s key', detail: /RS256/, token: svc.userToken({ header: { alg: 'ES256', kid: SHARED_KID } }).split('.').slice(0, 2).join('.') + '.' + signJwt({ alg: 'ES256', kid: SHARED_KID }, {}, second.oidc.privateKey).split('.')[2] },
    { name: 'alg RS256 where only ES256 is allowed', detail: /ES256/, token: signJwt({ alg: 'RS256', kid: SHARED_KID }, claimsOf(svc.entra.oidc), svc.entra.signingKey.privateKey) },
    { name: 'another audience', detail: /audience/, token: svc.entra.oidc.mintToken({ audience: 'someone-else' }) },
    { name: 'Entra\'s audience at an OIDC issuer', detail: /audience/, token: svc.entra.oidc.mintToken({ audience: svc.entra.clientId }) },
    { name: 'no subject', detail: /"sub"/, token: svc.entra.oidc.mintToken({ claims: { sub: undefined } }) },
    // PostgreSQL's text cannot hold NUL: such a subject would fail the lookup of every request
    // that shares its statement.
    { name: 'a control character in the subject', detail: /"sub"/, token: svc.entra.oidc.mintToken({ subject: 'mallory\u0000' }) },
    { name: 'expired', detail: /expired/, token: svc.entra.oidc.mintToken({ lifetimeSeconds: -600 }) },
    { name: 'a key of its own in the header', detail: /"jwk"/, token: svc.entra.oidc.mintToken({ header: { jwk: { kty: 'EC' } } }) },
  ];
  for (const { name, token, detail } of cases) {
    const answer = await svc.request({ url: '/api/token', token });
    t.equal(answer.statusCode, 401, `${name}: 401`);
    t.equal(answer.json.code, 'invalid_token', name);
    t.match(answer.json.detail, detail, `${name}: ${answer.json.detail}`);
  }
  t.same(await svc.snapshot(), before, 'nothing changed');
  t.equal(svc.acs.counters.requests, 0, 'ACS never called');
});

// The machine's own address off loopback: it reaches this test's server, yet is not loopback.
const offLoopback = Object.values(networkInterfaces()).flat().find((address) => address?.family === 'IPv4' && !address.internal)?.address;

t.test('keys named over plain http (off loopback) by a discovery document are not fetched', { skip: offLoopback ? false : 'no address off loopback' }, async (t) => {
  // An issuer on this machine whose discovery document names its keys at http://<this
  // machine's own address>: reachable, valid keys, but not over TLS and not loopback.
  let keys: Record<string, unknown>[] = [];
  const fetched: string[] = [];
  const idp = Fastify();
  idp.addHook('onRequest', async (request) => { fetched.push(request.url); });
  idp.get('/.well-known/openid-configuration', async () => ({ issuer: issuerUrl, jwks_uri: `http://${offLoopback}:${port}/jwks` }));
  idp.get('/jwks', async () => ({ keys }));
  await idp.listen({ port: 0, host: '0.0.0.0' });
  t.teardown(() => idp.close());
  const { port } = idp.server.address() as AddressInfo;
  const issuerUrl = `http://127.0.0.1:${port}`;

  const svc = await startTestService(t, (entra) => {
    keys = [{ ...createPublicKey(entra.oidc.privateKey).export({ format: 'jwk' }), kid: entra.oidc.kid, alg: 'ES256', use: 'sig' }];
    return { AUTH_ISSUERS: JSON.stringify([{ issuer: issuerUrl, audience: entra.oidc.audience, algorithms: ['ES256'] }]) };
  });
  const answer = await svc.request({ url: '/api/token', token: svc.entra.oidc.mintToken({ claims: { iss: issuerUrl } }) });
  t.equal(answer.statusCode, 503, 'the keys cannot be had');
  t.equal(answer.json.code, 'keys_unavailable');
  t.same(fetched, ['/.well-known/openid-configuration'], 'the keys were never fetched over plain http');
});

t.test('a token of an issuer not listed is refused without any outbound request', async (t) => {
  const stranger = await startEntraEmulator();
  t.teardown(() => stranger.close());
  const svc = await startTestService(t, (entra) => ({ AUTH_ISSUERS: JSON.stringify([{ issuer: entra.oidc.issuer, audience: entra.oidc.audience, algorithms: ['ES256'] }]) }));
  await svc.request({ url: '/api/user', token: svc.userToken() });
  const fetchedBefore = [...svc.entra.requests];

  for (const token of [stranger.oidc.mintToken(), stranger.mintAccessToken(), svc.entra.oidc.mintToken({ claims: { iss: `${svc.entra.oidc.issuer}/` } })]) {
    const answer = await svc.request({ url: '/api/token', token });
    t.equal(answer.statusCode, 401);
    t.match(answer.json.detail, /issuer is not accepted/);
  }
  t.same(stranger.requests, [], 'the stranger was never asked for keys');
  t.same(svc.entra.requests, fetchedBefore, 'nor were the trusted issuers');
});

t.test('a required scope that the token lacks: 403 insufficient_scope', async (t) => {
  const second = await startEntraEmulator();
  t.teardown(() => second.close());
  const svc = await startService(t, second);
  const answer = await svc.request({ url: '/api/token', token: svc.entra.oidc.mintToken({ scope: 'openid profile' }) });
  t.equal(answer.statusCode, 403);
  t.equal(answer.json.code, 'insufficient_scope');
  t.match(answer.json.detail, /tokens/);
  t.match(answer.headers['www-authenticate'], /error="insufficient_scope".*scope="tokens"/, 'the challenge names this issuer\'s scope');
  t.same((await svc.snapshot()).identities, [], 'no identity created');
  // The second issuer requires no scope.
  t.equal((await svc.request({ url: '/api/token', token: second.oidc.mintToken({ scope: undefined, claims: { scope: undefined } }) })).statusCode, 200);
});

t.test('a bad AUTH_ISSUERS stops the service at start, naming the entry', async (t) => {
  const base = {
    DATABASE_URL: 'postgres://127.0.0.1:1/none', ACS_CONNECTION_STRING: 'endpoint=https://x.communication.azure.com/;accesskey=a2V5',
    AZURE_TENANT_ID: randomUUID(), AZURE_CLIENT_ID: 'api',
  };
  const cases = [
    { value: '[{"issuer": ', message: /AUTH_ISSUERS is not valid JSON/ },
    { value: '[{"audience": "api"}]', message: /AUTH_ISSUERS\[0\]: "issuer" is required/ },
    { value: '[{"issuer": "https://ok.example.com", "audience": "api"}, {"issuer": "http://idp.example.com", "audience": "api"}]', message: /AUTH_ISSUERS\[1\] \(http:\/\/idp\.example\.com\): "issuer" must be https:\/\// },
  ];
  for (const { value, message } of cases) {
    const service = await startServiceProcess(t, { ...base, AUTH_ISSUERS: value });
    t.equal(await service.exited, 1, `exit 1 for ${value}`);
    t.match(service.output().stderr, message);
  }
});

t.test('app-only tokens are refused from every issuer, with or without a required scope', async (t) => {
  const second = await startEntraEmulator();
  t.teardown(() => second.close());
  const svc = await startService(t, second);
  // What client-credentials tokens look like at Auth0, Okta and RFC 9068 issuers
  // (oidc-provider), Entra External ID, and Keycloak's service accounts.
  const clientId = randomUUID();
  const appOnly = [
    { name: 'Auth0 (gty)', claims: { gty: 'client-credentials', azp: clientId } },
    { name: 'RFC 9068 (sub is client_id)', claims: { sub: clientId, client_id: clientId } },
    { name: 'Okta (sub is cid)', claims: { sub: clientId, cid: clientId } },
    { name: 'sub is azp', claims: { sub: clientId, azp: clientId } },
    { name: 'Entra External ID (idtyp app)', claims: { idtyp: 'app' } },
    { name: 'Entra External ID without idtyp (sub is the app\'s oid)', claims: { sub: clientId, oid: clientId } },
    { name: 'Keycloak service account', claims: { preferred_username: `service-account-${clientId}`, azp: clientId } },
  ];
  for (const { name, claims } of appOnly) {
    // The second issuer requires no scope; the first requires "tokens", which the token grants.
    for (const [issuer, scopeInChallenge] of [[second.oidc, undefined], [svc.entra.oidc, 'tokens']] as const) {
      const answer = await svc.request({ url: '/api/token', token: issuer.mintToken({ scope: 'openid tokens', claims }) });
      t.equal(answer.statusCode, 403, `${name} at ${issuer === second.oidc ? 'an issuer without' : 'an issuer with'} a scope: 403`);
      t.equal(answer.json.code, 'insufficient_scope');
      t.match(answer.json.detail, /App-only tokens are not accepted/);
      if (scopeInChallenge) t.match(answer.headers['www-authenticate'], `scope="${scopeInChallenge}"`);
      else t.notMatch(answer.headers['www-authenticate'], /scope=/, 'no scope to name in the challenge');
    }
  }
  t.same((await svc.snapshot()).identities, [], 'no identity created for any of them');
  // Users of the same clients are let in, whatever their name.
  const user = await svc.request({ url: '/api/token', token: second.oidc.mintToken({ claims: { azp: clientId, client_id: clientId, cid: clientId, oid: randomUUID() } }) });
  t.equal(user.statusCode, 200, 'a user token naming its client is accepted');
  const named = second.oidc.mintToken({ claims: { azp: clientId, preferred_username: 'service-account-kiosk@contoso.example' } });
  t.equal((await svc.request({ url: '/api/token', token: named })).statusCode, 200, 'a user whose name merely starts with service-account- is accepted');
});

t.test('an ES256 signature that is not the key\'s is refused once checked, and remembered; the valid token is not', async (t) => {
  const stranger = await startEntraEmulator({ oidc: { kid: SHARED_KID } });
  t.teardown(() => stranger.close());
  const svc = await startTestService(t, (entra) => ({ AUTH_ISSUERS: JSON.stringify([{ issuer: entra.oidc.issuer, audience: entra.oidc.audience, algorithms: ['ES256'] }]) }), { entra: { oidc: { kid: SHARED_KID } } });
  const keys = svc.app.signingKeys;
  const valid = svc.entra.oidc.mintToken({ subject: 'alice' });
  const [header, payload, signature] = valid.split('.') as [string, string, string];
  const forgeries = [
    ['signed with another key under the published kid', `${header}.${payload}.${stranger.oidc.mintToken({ subject: 'alice' }).split('.')[2]}`],
    ['a signature of the wrong length', `${header}.${payload}.${signature.slice(0, 40)}`],
  ] as const;
  for (const [name, forged] of forgeries) {
    const checks = keys.signatureChecks;
    for (let i = 0; i < 2; i++) {
      const answer = await svc.request({ url: '/api/user', token: forged });
      t.equal(answer.statusCode, 401, name);
      t.equal(answer.json.detail, 'The token is invalid: The token signature is invalid.', name);
    }
    t.equal(keys.signatureChecks, checks + 1, `${name}: checked once, then remembered`);
  }
  const checks = keys.signatureChecks;
  t.equal((await svc.request({ url: '/api/user', method: 'POST', token: valid })).statusCode, 201, 'the valid token is accepted');
  t.equal(keys.signatureChecks, checks + 1, 'its signature checked alone once (then whole by @fastify/jwt)');
});
