// On-behalf-of mode's cache of Teams tokens: keyed by the user (tenant, oid) and scopes, not by
// the caller's token, which changes at every refresh; bounded (TEAMS_OBO_CACHE_SIZE), and
// MSAL's own cache, which stores every caller token's result and evicts nothing, kept from
// growing. Over HTTP, against the Entra ID emulator over TLS and the ACS emulator.
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { startTestService } from './helpers/testService.js';

const SECRET = 'test-client-secret-value';
const CACHE_SIZE = 20;
const svc = await startTestService(t, { AZURE_CLIENT_SECRET: SECRET, TEAMS_OBO_CACHE_SIZE: String(CACHE_SIZE), RATE_LIMIT_IP_MAX: '100000' }, {
  entra: { tls: true, clientSecret: SECRET },
});

const tokenEndpointCalls = () => svc.entra.requests.filter((url) => url.split('?')[0]!.endsWith('/oauth2/v2.0/token')).length;
async function cacheEntries(cache: 'teams_tokens' | 'msal'): Promise<number> {
  const text = (await svc.app.inject({ url: '/metrics' })).body;
  return Number(new RegExp(`^teams_obo_cache_entries\\{cache="${cache}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
}
async function exchange(t: Test, token: string, objectId: string) {
  const response = await svc.request({ url: '/api/token/teams', token });
  t.equal(response.statusCode, 200, response.body);
  t.equal(svc.acs.decodeToken(response.json.token)?.skypeid, `orgid:${objectId}`, 'the token of the caller\'s own Teams identity');
}

t.test('a new caller token of the same user is served from the cache; another user is not', async (t) => {
  const objectId = randomUUID();
  const calls = tokenEndpointCalls();
  await exchange(t, svc.userToken({ objectId }), objectId);
  t.equal(tokenEndpointCalls(), calls + 1, 'the first exchange asks Entra ID');

  // The client refreshed its token for this API: a new token, the same user.
  await exchange(t, svc.userToken({ objectId }), objectId);
  t.equal(tokenEndpointCalls(), calls + 1, 'the same user\'s new caller token is served from the cache');

  const other = randomUUID();
  await exchange(t, svc.userToken({ objectId: other }), other);
  t.equal(tokenEndpointCalls(), calls + 2, 'another user gets their own Teams token from Entra ID');
});

t.test('many users with distinct caller tokens: the caches stay bounded, the oldest user goes first', async (t) => {
  const users = Array.from({ length: CACHE_SIZE * 4 }, () => randomUUID());
  const calls = tokenEndpointCalls();
  for (const objectId of users) await exchange(t, svc.userToken({ objectId }), objectId);
  t.equal(tokenEndpointCalls(), calls + users.length, 'one grant per user');
  const cached = await cacheEntries('teams_tokens');
  t.ok(cached > 0 && cached <= CACHE_SIZE, `Teams tokens kept: ${cached} (at most ${CACHE_SIZE})`);
  const msal = await cacheEntries('msal');
  t.ok(msal >= 0 && msal <= 5, `MSAL's own cache holds ${msal} entries (no token per caller)`);

  await exchange(t, svc.userToken({ objectId: users.at(-1)! }), users.at(-1)!);
  t.equal(tokenEndpointCalls(), calls + users.length, 'the latest user is still served from the cache');
  await exchange(t, svc.userToken({ objectId: users[0]! }), users[0]!);
  t.equal(tokenEndpointCalls(), calls + users.length + 1, 'the first user was evicted: a new grant');
  t.ok(await cacheEntries('teams_tokens') <= CACHE_SIZE, 'still bounded');
});

t.test('a Teams token with less than 30 minutes to live is not served again', async (t) => {
  // The emulator's Teams token lives until 10 minutes after the caller's token expires: a
  // caller token of 10 minutes gives a Teams token of 20.
  const objectId = randomUUID();
  const calls = tokenEndpointCalls();
  await exchange(t, svc.userToken({ objectId, lifetimeSeconds: 600 }), objectId);
  await exchange(t, svc.userToken({ objectId, lifetimeSeconds: 600 }), objectId);
  t.equal(tokenEndpointCalls(), calls + 2, 'each exchange asked Entra ID');
});
