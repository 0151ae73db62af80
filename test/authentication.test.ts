// Every authentication rule (docs/security.md), from the attacker's side: each bad token is refused with 401 or 403,
// a problem body and an RFC 6750 challenge, and touches neither the database nor ACS — nor,
// except for an unknown `kid`, the identity provider.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { signJwt, type SigningAlgorithm } from '../emulators/jwtSigner.js';
import { entraCaller } from '../src/auth/caller.js';
import { VerifiedTokens } from '../src/auth/verifiedTokens.js';
import { startTestService } from './helpers/testService.js';

const OTHER_ALLOWED_TENANT = randomUUID();
// An application's own token from Entra ID names it in both `sub` and `oid`.
const APP_OBJECT_ID = randomUUID();
const svc = await startTestService(t, { AUTH_ALLOWED_TENANTS: OTHER_ALLOWED_TENANT });

// A server that counts every request: header-supplied key URLs point here.
let attackerHits = 0;
const attacker = createServer((_req, res) => { attackerHits++; res.end('{"keys":[]}'); });
await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
const attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/keys.json`;
t.teardown(() => new Promise((resolve) => attacker.close(resolve)));

const rsaAttacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function decode(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

/** A token with valid claims for this service, signed as `alg` with `key`. */
function signedAs(alg: SigningAlgorithm, key: Parameters<typeof signJwt>[2], header: Record<string, unknown> = {}): string {
  const { header: validHeader, payload } = decode(svc.userToken());
  return signJwt({ ...validHeader, ...header, alg }, payload, key);
}

const now = () => Math.floor(Date.now() / 1000);
const realKid = svc.entra.signingKey.kid;
const publicPem = svc.entra.signingKey.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const valid = svc.userToken();
const [validHeader, validPayload, validSignature] = valid.split('.') as [string, string, string];

interface BadCase {
  name: string;
  authorization?: string | string[];
  status?: 401 | 403;
  detail?: RegExp;
}

const cases: BadCase[] = [
  { name: 'no Authorization header', detail: /No bearer token/ },
  { name: 'two Authorization headers', authorization: [`Bearer ${valid}`, `Bearer ${valid}`], detail: /exactly one/ },
  { name: 'two tokens in one header', authorization: `Bearer ${valid} ${valid}` },
  { name: 'Basic scheme', authorization: `Basic ${Buffer.from('a:b').toString('base64')}`, detail: /scheme must be Bearer/ },
  { name: 'token without a scheme', authorization: valid, detail: /scheme must be Bearer/ },
  { name: 'Bearer with no token', authorization: 'Bearer ' },
  { name: 'garbage', authorization: 'Bearer not-a-jwt-at-all' },
  { name: 'two segments', authorization: `Bearer ${validHeader}.${validPayload}` },
  { name: 'four segments', authorization: `Bearer ${valid}.${validSignature}` },
  { name: 'oversize header', authorization: `Bearer ${validHeader}.${'A'.repeat(9000)}.${validSignature}`, detail: /larger than 8192/ },
  { name: 'segments that are not JSON', authorization: 'Bearer aaaa.bbbb.cccc' },
  { name: 'alg none, empty signature', authorization: `Bearer ${signedAs('none', undefined)}` },
  { name: 'alg none, with a signature', authorization: `Bearer ${signedAs('none', undefined)}${validSignature}`, detail: /RS256/ },
  { name: 'HS256 signed with the RSA public key', authorization: `Bearer ${signedAs('HS256', publicPem)}`, detail: /RS256/ },
  { name: 'RS384 with the real key', authorization: `Bearer ${signedAs('RS384', svc.entra.signingKey.privateKey)}`, detail: /RS256/ },
  { name: 'PS256 with the real key', authorization: `Bearer ${signedAs('PS256', svc.entra.signingKey.privateKey)}`, detail: /RS256/ },
  { name: 'ES256', authorization: `Bearer ${signedAs('ES256', ecKey.privateKey)}`, detail: /RS256/ },
  { name: 'jku in the header', authorization: `Bearer ${signedAs('RS256', rsaAttacker.privateKey, { jku: attackerUrl })}`, detail: /jku/ },
  {
    name: 'jwk in the header',
    authorization: `Bearer ${signedAs('RS256', rsaAttacker.privateKey, { jwk: rsaAttacker.publicKey.export({ format: 'jwk' }) })}`,
    detail: /jwk/,
  },
  { name: 'x5u in the header', authorization: `Bearer ${signedAs('RS256', rsaAttacker.privateKey, { x5u: attackerUrl })}`, detail: /x5u/ },
  { name: 'x5c in the header', authorization: `Bearer ${signedAs('RS256', rsaAttacker.privateKey, { x5c: ['MIIB'] })}`, detail: /x5c/ },
  { name: 'no kid', authorization: `Bearer ${svc.userToken({ header: { kid: undefined } })}`, detail: /kid/ },
  { name: 'signed by another key under the real kid', authorization: `Bearer ${signedAs('RS256', rsaAttacker.privateKey)}`, detail: /signature/ },
  {
    name: 'tampered payload',
    authorization: `Bearer ${validHeader}.${Buffer.from(JSON.stringify({ ...decode(valid).payload, oid: randomUUID() })).toString('base64url')}.${validSignature}`,
    detail: /signature/,
  },
  { name: 'stripped signature', authorization: `Bearer ${validHeader}.${validPayload}.` },
  { name: 'expired', authorization: `Bearer ${svc.userToken({ claims: { exp: now() - 600, nbf: now() - 4000, iat: now() - 4000 } })}`, detail: /expired/ },
  { name: 'nbf in the future', authorization: `Bearer ${svc.userToken({ claims: { nbf: now() + 600 } })}`, detail: /not valid yet/ },
  { name: 'missing exp', authorization: `Bearer ${svc.userToken({ claims: { exp: undefined } })}`, detail: /exp/ },
  { name: 'missing nbf', authorization: `Bearer ${svc.userToken({ claims: { nbf: undefined } })}`, detail: /nbf/ },
  { name: 'wrong audience', authorization: `Bearer ${svc.userToken({ claims: { aud: randomUUID() } })}`, detail: /aud/ },
  { name: 'v1-style api:// audience', authorization: `Bearer ${svc.userToken({ claims: { aud: `api://${svc.entra.clientId}` } })}`, detail: /aud/ },
  { name: 'array audience', authorization: `Bearer ${svc.userToken({ claims: { aud: [svc.entra.clientId] } })}`, detail: /single string/ },
  { name: 'v1 issuer', authorization: `Bearer ${svc.userToken({ claims: { iss: `https://sts.windows.net/${svc.entra.tenantId}/` } })}`, detail: /issuer/ },
  { name: 'issuer of another allowed tenant than tid', authorization: `Bearer ${svc.userToken({ claims: { iss: svc.entra.issuer(OTHER_ALLOWED_TENANT) } })}`, detail: /issuer/ },
  { name: 'real Entra issuer instead of the configured authority', authorization: `Bearer ${svc.userToken({ claims: { iss: `https://login.microsoftonline.com/${svc.entra.tenantId}/v2.0` } })}`, detail: /issuer/ },
  { name: 'tenant not allowed', authorization: `Bearer ${svc.userToken({ tenantId: randomUUID() })}`, detail: /tenant is not allowed/ },
  { name: 'missing tid', authorization: `Bearer ${svc.userToken({ claims: { tid: undefined } })}`, detail: /tid/ },
  { name: 'missing oid', authorization: `Bearer ${svc.userToken({ claims: { oid: undefined } })}`, detail: /oid/ },
  { name: 'oid that is not a GUID', authorization: `Bearer ${svc.userToken({ claims: { oid: 'alice@example.test' } })}`, detail: /oid/ },
  { name: 'missing scope', authorization: `Bearer ${svc.userToken({ claims: { scp: undefined } })}`, status: 403 },
  { name: 'look-alike scope', authorization: `Bearer ${svc.userToken({ scope: 'xaccess_as_user' })}`, status: 403 },
  { name: 'scope with a suffix', authorization: `Bearer ${svc.userToken({ scope: 'access_as_user.all User.Read' })}`, status: 403 },
  { name: 'scope as an array', authorization: `Bearer ${svc.userToken({ claims: { scp: ['access_as_user'] } })}`, status: 403 },
  { name: 'app-only token, sub is its own oid', authorization: `Bearer ${svc.userToken({ objectId: APP_OBJECT_ID, claims: { sub: APP_OBJECT_ID } })}`, status: 403, detail: /App-only/ },
  { name: 'app-only token (roles, no scp)', authorization: `Bearer ${svc.userToken({ claims: { scp: undefined, roles: ['access_as_user'] } })}`, status: 403, detail: /App-only/ },
];

// Warm the key cache with one good request, so that counting the emulator's requests below
// shows whether a bad token made the service fetch anything.
const warm = await svc.request({ url: '/api/token', token: valid });
t.equal(warm.statusCode, 200, 'a valid token is accepted');

t.test('bad tokens', async (t) => {
  t.ok(cases.length >= 25, `${cases.length} cases`);
  for (const badCase of cases) {
    const before = await svc.snapshot();
    const acsRequests = svc.acs.counters.requests;
    const keyRequests = svc.entra.requests.length;
    const headers: Record<string, string | string[]> = badCase.authorization === undefined ? {} : { authorization: badCase.authorization };
    for (const route of [{ url: '/api/token' }, { method: 'DELETE' as const, url: '/api/user' }]) {
      const response = await svc.request({ ...route, headers });
      const status = badCase.status ?? 401;
      t.equal(response.statusCode, status, `${badCase.name}: ${route.method ?? 'GET'} ${route.url} → ${status}`);
      t.equal(response.json.code, status === 401 ? 'invalid_token' : 'insufficient_scope', `${badCase.name}: code`);
      t.match(response.headers['www-authenticate'], status === 401
        ? /^Bearer error="invalid_token", error_description="[^"]+"$/
        : /^Bearer error="insufficient_scope", error_description="[^"]+", scope="access_as_user"$/, `${badCase.name}: challenge`);
      if (badCase.detail) t.match(response.json.detail, badCase.detail, `${badCase.name}: detail`);
    }
    t.same(await svc.snapshot(), before, `${badCase.name}: database unchanged`);
    t.equal(svc.acs.counters.requests, acsRequests, `${badCase.name}: ACS not called`);
    t.equal(svc.entra.requests.length, keyRequests, `${badCase.name}: no key fetch`);
  }
  t.equal(attackerHits, 0, 'no URL from a token header was fetched');
});

t.test('an unknown kid refreshes the key set at most once per cooldown', async (t) => {
  const keyRequests = svc.entra.requests.length;
  for (let i = 0; i < 20; i++) {
    const response = await svc.request({ url: '/api/token', token: signedAs('RS256', rsaAttacker.privateKey, { kid: randomUUID() }) });
    t.equal(response.statusCode, 401);
    t.match(response.json.detail, /unknown key/);
  }
  const fetched = svc.entra.requests.slice(keyRequests);
  t.ok(fetched.length <= 2, `one refresh (discovery + keys) for 20 unknown kids: ${fetched.join(', ')}`);
  const still = await svc.request({ url: '/api/token', token: svc.userToken() });
  t.equal(still.statusCode, 200, 'known keys keep working meanwhile');
});

t.test('while every key set is fresh, an unknown kid is refused on its header alone', async (t) => {
  // One tenant, whose keys the service read when it started. The header names a kid it never
  // published; the claims are not even JSON. The full check would stop at the claims
  // ("invalid"); the header alone already says "unknown key".
  const single = await startTestService(t);
  const tokenWith = (kid: string) => `Bearer ${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid })).toString('base64url')}.bm90LWpzb24.${validSignature}`;
  t.equal((await single.request({ url: '/api/user', token: single.userToken() })).statusCode, 404, 'keys loaded');
  const keyRequests = single.entra.requests.length;
  const response = await single.request({ url: '/api/token', headers: { authorization: tokenWith(randomUUID()) } });
  t.equal(response.statusCode, 401);
  t.equal(response.json.code, 'invalid_token');
  t.match(response.json.detail, /unknown key/);
  t.equal(single.entra.requests.length, keyRequests, 'no key fetch');
  // A published kid goes through every check.
  const checked = await single.request({ url: '/api/token', headers: { authorization: tokenWith(single.entra.signingKey.kid) } });
  t.equal(checked.statusCode, 401);
  t.match(checked.json.detail, /payload is not a valid/, 'a published kid: refused for its claims');
  // Once the key set may be read again (the cooldown is over), the header alone decides
  // nothing: a key the issuer has just published must still be found.
  const cooled = await startTestService(t, { AUTH_KEY_REFRESH_COOLDOWN_SECONDS: '1' });
  t.equal((await cooled.request({ url: '/api/user', token: cooled.userToken() })).statusCode, 404, 'keys loaded');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const keyRequestsCooled = cooled.entra.requests.length;
  const unread = await cooled.request({ url: '/api/token', headers: { authorization: tokenWith(randomUUID()) } });
  t.match(unread.json.detail, /payload is not a valid/, 'refused for its claims, not its kid');
  t.equal(cooled.entra.requests.length, keyRequestsCooled, 'and no key fetch either');
  // A kid that is not printable ASCII (a lone surrogate cannot even be put in a URL) is
  // refused as invalid, with valid claims too: a 401, never a 500.
  const [, cooledPayload, cooledSignature] = cooled.userToken().split('.');
  for (const kid of ['\ud800', 'k\u00e9y', 'tab\there']) {
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid })).toString('base64url');
    const odd = await cooled.request({ url: '/api/token', headers: { authorization: `Bearer ${header}.${cooledPayload}.${cooledSignature}` } });
    t.equal(odd.statusCode, 401, `kid ${JSON.stringify(kid)}: 401`);
    t.equal(odd.json.code, 'invalid_token');
  }
});

t.test('a remembered token is served again only while it would pass again', async (t) => {
  // Over HTTP: remembered, then expired (no clock tolerance here, so exp is the edge).
  const strict = await startTestService(t, { AUTH_CLOCK_TOLERANCE_SECONDS: '0' });
  const shortLived = strict.userToken({ claims: { exp: now() + 2 } });
  t.equal((await strict.request({ url: '/api/user', token: shortLived })).statusCode, 404, 'accepted');
  t.equal((await strict.request({ url: '/api/user', token: shortLived })).statusCode, 404, 'accepted again, remembered');
  await new Promise((resolve) => setTimeout(resolve, (now() + 1) * 1000 - Date.now() + 1100));
  const late = await strict.request({ url: '/api/user', token: shortLived });
  t.equal(late.statusCode, 401, 'refused once expired, although remembered');
  t.match(late.json.detail, /expired/);

  // The bounds, with the service's own signing keys: the key must still be cached, and the
  // token inside its nbf/exp.
  const tokens = new VerifiedTokens(svc.app.signingKeys, 0);
  const user = entraCaller(svc.entra.tenantId, randomUUID());
  const key = (kid: string) => ({ keySet: { id: `${svc.entra.issuer()}/`, algorithms: ['RS256'] }, alg: 'RS256', kid });
  tokens.set('fresh', user, { exp: now() + 60 }, key(realKid));
  tokens.set('withdrawn key', user, { exp: now() + 60 }, key(randomUUID()));
  tokens.set('expired', user, { exp: now() - 1 }, key(realKid));
  tokens.set('not yet valid', user, { exp: now() + 60, nbf: now() + 30 }, key(realKid));
  t.equal(tokens.get('fresh'), user, 'a fresh token under a cached key: its caller');
  for (const name of ['withdrawn key', 'expired', 'not yet valid', 'never seen']) t.equal(tokens.get(name), undefined, `${name}: not served`);
  for (let i = 0; i < 10_000; i++) tokens.set(`token ${i}`, user, { exp: now() + 60 }, key(realKid));
  t.equal(tokens.get('fresh'), undefined, 'bounded: the oldest goes first');
  t.equal(tokens.get('token 9999'), user);
});

t.test('accepted variants', async (t) => {
  const lowercase = await svc.request({ url: '/api/user', headers: { authorization: `bearer ${svc.userToken()}` } });
  t.equal(lowercase.statusCode, 404, 'the scheme is case-insensitive (RFC 7235)');
  const manyScopes = await svc.request({ url: '/api/user', token: svc.userToken({ scope: 'User.Read access_as_user openid' }) });
  t.equal(manyScopes.statusCode, 404, 'the scope may be one of several');
  const skewed = await svc.request({ url: '/api/user', token: svc.userToken({ claims: { nbf: now() + 30 } }) });
  t.equal(skewed.statusCode, 404, 'a little clock skew is tolerated');
});

t.test('the user key is (tid, oid): the same oid in two allowed tenants is two users', async (t) => {
  const objectId = randomUUID();
  const home = await svc.request({ url: '/api/token', token: svc.userToken({ objectId }) });
  const other = await svc.request({ url: '/api/token', token: svc.userToken({ objectId, tenantId: OTHER_ALLOWED_TENANT }) });
  t.equal(home.statusCode, 200);
  t.equal(other.statusCode, 200, 'a token of the second allowed tenant is accepted');
  t.not(home.json.user.communicationUserId, other.json.user.communicationUserId);
  const sameOidOtherSub = await svc.request({ url: '/api/user', token: svc.userToken({ objectId, claims: { sub: randomUUID() } }) });
  t.equal(sameOidOtherSub.json.acsUserIdentity, home.json.user.communicationUserId, 'sub does not matter');
});

t.test('the key set being unreachable is a 503, not a 401', async (t) => {
  const isolated = await startTestService(t);
  await isolated.entra.close();
  const response = await isolated.request({ url: '/api/user', token: isolated.userToken({ header: { kid: randomUUID() } }) });
  t.equal(response.statusCode, 503);
  t.equal(response.json.code, 'keys_unavailable');
  t.ok(response.headers['retry-after']);
});

t.test('a rotated key is found even while unknown kids spend the refresh', async (t) => {
  const rotating = await startTestService(t, { AUTH_KEY_REFRESH_COOLDOWN_SECONDS: '1' });
  t.equal((await rotating.request({ url: '/api/user', token: rotating.userToken() })).statusCode, 404, 'keys loaded');
  rotating.entra.rotateKey();
  await new Promise((resolve) => setTimeout(resolve, 1100));
  // An attacker's unknown kid spends the one refresh of this cooldown period…
  const keyRequests = rotating.entra.requests.length;
  const forged = rotating.userToken({ header: { kid: randomUUID() } });
  t.equal((await rotating.request({ url: '/api/user', token: forged })).statusCode, 401);
  t.equal(rotating.entra.requests.length, keyRequests + 1, 'it caused one read of the key set (its discovery document is read hourly)');
  // …and that refresh cached every published key, so the new one verifies at once.
  const signedWithNewKey = await rotating.request({ url: '/api/user', token: rotating.userToken() });
  t.equal(signedWithNewKey.statusCode, 404, 'a token signed with the rotated key is accepted');
  t.equal(rotating.entra.requests.length, keyRequests + 1, 'without another fetch');
});

t.test('a forged token under a published kid is refused again without a second signature check', async (t) => {
  const keys = svc.app.signingKeys;
  const forged = signedAs('RS256', rsaAttacker.privateKey);
  const checks = keys.signatureChecks;
  const stackTraceLimit = Error.stackTraceLimit;
  const first = await svc.request({ url: '/api/token', token: forged });
  t.equal(first.statusCode, 401);
  // fast-jwt's words, which @fastify/jwt passes on: the signal that remembers the refusal.
  t.equal(first.json.detail, 'The token is invalid: The token signature is invalid.');
  t.equal(keys.signatureChecks, checks + 1, 'its signature was checked once');
  t.equal(Error.stackTraceLimit, stackTraceLimit, 'the stack trace limit lowered for the check is restored');
  const again = await svc.request({ url: '/api/token', token: forged });
  t.equal(again.statusCode, 401);
  t.same(again.json, first.json, 'refused the same way (the request id is in X-Request-Id, not the body)');
  t.equal(again.headers['www-authenticate'], first.headers['www-authenticate']);
  t.equal(keys.signatureChecks, checks + 1, 'and not checked again');
  // Its valid twin (same header and claims, the real signature) is another token: accepted.
  const [h, p] = forged.split('.');
  const twin = signJwt({ ...decode(forged).header, alg: 'RS256' }, decode(forged).payload, svc.entra.signingKey.privateKey);
  t.equal(twin.split('.').slice(0, 2).join('.'), `${h}.${p}`);
  t.equal((await svc.request({ url: '/api/user', token: twin })).statusCode, 404, 'the valid token is not refused');
});

t.test('a token refused after its signature passed is checked again each time', async (t) => {
  const keys = svc.app.signingKeys;
  // Signed with the real key: @fastify/jwt accepts it, its issuer refuses the caller.
  const token = svc.userToken({ claims: { oid: 'alice@example.test' } });
  const checks = keys.signatureChecks;
  for (let i = 0; i < 2; i++) {
    const response = await svc.request({ url: '/api/token', token });
    t.equal(response.statusCode, 401);
    t.match(response.json.detail, /oid/);
  }
  t.equal(keys.signatureChecks, checks + 2, 'not remembered');
});

t.test('claims before the signature: expired, not yet valid, wrong audience or issuer cost no signature check', async (t) => {
  const keys = svc.app.signingKeys;
  const forge = (claims: Record<string, unknown>) => {
    const { header, payload } = decode(svc.userToken({ claims }));
    return signJwt({ ...header, alg: 'RS256' }, payload, rsaAttacker.privateKey);
  };
  const refusals: Array<[string, string, RegExp]> = [
    ['expired', forge({ exp: now() - 3600, nbf: now() - 7200 }), /expired/],
    ['not yet valid', forge({ nbf: now() + 3600 }), /not valid yet/],
    ['wrong audience', forge({ aud: randomUUID() }), /audience/],
    ['wrong issuer', forge({ iss: `https://sts.windows.net/${svc.entra.tenantId}/` }), /issuer/],
  ];
  for (const [name, token, detail] of refusals) {
    const checks = keys.signatureChecks;
    const response = await svc.request({ url: '/api/token', token });
    t.equal(response.statusCode, 401, name);
    t.match(response.json.detail, detail, `${name}: refused for its claims`);
    t.notMatch(response.json.detail, /signature/, `${name}: says nothing of its signature`);
    t.equal(keys.signatureChecks, checks, `${name}: no signature check`);
  }
});

t.test('what may become valid is never remembered: not yet valid, unknown key', async (t) => {
  const strict = await startTestService(t, { AUTH_CLOCK_TOLERANCE_SECONDS: '0', AUTH_KEY_REFRESH_COOLDOWN_SECONDS: '1' });
  const early = strict.userToken({ claims: { nbf: now() + 2 } });
  const refused = await strict.request({ url: '/api/user', token: early });
  t.equal(refused.statusCode, 401);
  t.match(refused.json.detail, /not valid yet/);
  await new Promise((resolve) => setTimeout(resolve, (now() + 2) * 1000 - Date.now() + 100));
  t.equal((await strict.request({ url: '/api/user', token: early })).statusCode, 404, 'accepted once valid');

  // A read of the key set now (an unknown kid, the cooldown over), then a key published after it.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const keyRequests = strict.entra.requests.length;
  t.equal((await strict.request({ url: '/api/user', token: strict.userToken({ header: { kid: randomUUID() } }) })).statusCode, 401);
  t.ok(strict.entra.requests.length > keyRequests, 'the key set was read');
  strict.entra.rotateKey();
  const signedWithNewKey = strict.userToken();
  const unknown = await strict.request({ url: '/api/user', token: signedWithNewKey });
  t.equal(unknown.statusCode, 401, 'its key not read yet');
  t.match(unknown.json.detail, /unknown key/);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.equal((await strict.request({ url: '/api/user', token: signedWithNewKey })).statusCode, 404, 'accepted once its key is read');
});

t.test('a remembered refusal holds only while the key that refused it does', async (t) => {
  const rotating = await startTestService(t, { AUTH_KEY_REFRESH_COOLDOWN_SECONDS: '1' });
  t.equal((await rotating.request({ url: '/api/user', token: rotating.userToken() })).statusCode, 404, 'keys loaded');
  const { header, payload } = decode(rotating.userToken());
  const forged = signJwt({ ...header, alg: 'RS256' }, payload, rsaAttacker.privateKey);
  const keys = rotating.app.signingKeys;
  const checks = keys.signatureChecks;
  for (let i = 0; i < 2; i++) t.match((await rotating.request({ url: '/api/user', token: forged })).json.detail, /signature is invalid/);
  t.equal(keys.signatureChecks, checks + 1, 'remembered');
  // The issuer withdraws that key; once read again, the refusal remembered against it is void.
  rotating.entra.rotateKey({ retireOld: true });
  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.equal((await rotating.request({ url: '/api/user', token: rotating.userToken() })).statusCode, 404, 'the new key read');
  const after = await rotating.request({ url: '/api/user', token: forged });
  t.equal(after.statusCode, 401);
  t.match(after.json.detail, /unknown key/, 'checked anew: its kid is no longer published');
});

t.test('a refusal carries only the headers and body a JSON answer needs', async (t) => {
  const response = await svc.request({ url: '/api/token', token: signedAs('RS256', rsaAttacker.privateKey) });
  t.equal(response.statusCode, 401);
  t.same(Object.keys(response.json).sort(), ['code', 'detail', 'status', 'title', 'type']);
  t.equal(response.headers['cache-control'], 'no-store');
  t.equal(response.headers['x-content-type-options'], 'nosniff');
  t.match(response.headers['content-type'], /^application\/problem\+json/);
  t.ok(response.headers['x-request-id']);
  t.ok(response.headers['www-authenticate']);
  // Defence in depth only: a policy allowing no content or framing, and HSTS.
  t.match(response.headers['content-security-policy'], /default-src 'none';.*frame-ancestors 'none'/);
  t.match(response.headers['strict-transport-security'], /max-age=/);
  for (const browserOnly of ['x-frame-options', 'referrer-policy', 'cross-origin-opener-policy', 'x-dns-prefetch-control']) {
    t.notOk(response.headers[browserOnly], `no ${browserOnly}`);
  }
});
