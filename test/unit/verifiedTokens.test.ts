// The tokens this process has verified, on a clock of the test's own, with the real signing keys
// read from a key set served on loopback: a token is served from here only within its nbf/exp
// (with the tolerance) and the cache's own lifetime, and while the very key that verified it is
// still published.
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { entraCaller, oidcCaller } from '../../src/auth/caller.js';
import { IdentityProviderHttp } from '../../src/auth/identityProviderHttp.js';
import { SigningKeys, type KeySetSource } from '../../src/auth/signingKeys.js';
import { VerifiedTokens } from '../../src/auth/verifiedTokens.js';

const TOLERANCE_MS = 120_000;
const CACHE_TTL_MS = 600_000;
const caller = entraCaller('72f988bf-86f1-41af-91ab-2d7cd011db47', '6f0e4c1a-3b2d-4e5f-8a9b-0c1d2e3f4a5b');

const publicJwk = (kid: string) => ({ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' });
const keys = { k1: publicJwk('k1'), k2: publicJwk('k2') };
/** What the key set publishes now. */
let published: object[] = [keys.k1];
const server: Server = createServer((_, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ keys: published })); });
server.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
t.teardown(() => { server.close(); });
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const source: KeySetSource = { id: base, jwksUri: `${base}keys`, algorithms: ['RS256'] };
const k1 = { keySet: source, alg: 'RS256', kid: 'k1' };

/** Signing keys read afresh from the key set (no cooldown, so a test can make a read). */
async function verifiedTokens(now: number) {
  published = [keys.k1];
  const signingKeys = new SigningKeys([source], 0, new IdentityProviderHttp({ ca: undefined, timeoutMs: 2000 }));
  await signingKeys.verificationKeyFor(source, 'RS256', 'k1');
  const clock = { now };
  return { clock, signingKeys, tokens: new VerifiedTokens(signingKeys, TOLERANCE_MS, () => clock.now) };
}

const start = Date.parse('2026-12-01T12:00:00Z');
const seconds = (ms: number) => ms / 1000;

t.test('served until exp plus the tolerance, not a millisecond after', async (t) => {
  const { clock, tokens } = await verifiedTokens(start);
  const exp = seconds(start) + 300;
  tokens.set('token-a', caller, { exp }, k1);
  t.equal(tokens.get('token-a'), caller);
  t.equal(tokens.get('token-b'), undefined, 'another token');
  clock.now = exp * 1000 + TOLERANCE_MS;
  t.equal(tokens.get('token-a'), caller, 'at exp + tolerance');
  clock.now += 1;
  t.equal(tokens.get('token-a'), undefined, 'after');
  clock.now -= 1;
  t.equal(tokens.get('token-a'), undefined, 'and forgotten');
});

t.test('not served before nbf minus the tolerance', async (t) => {
  const { clock, tokens } = await verifiedTokens(start);
  const nbf = seconds(start) + 200;
  tokens.set('early', caller, { nbf, exp: nbf + 3600 }, k1);
  clock.now = nbf * 1000 - TOLERANCE_MS;
  t.equal(tokens.get('early'), caller, 'at nbf - tolerance');
  tokens.set('earlier', caller, { nbf, exp: nbf + 3600 }, k1);
  clock.now -= 1;
  t.equal(tokens.get('earlier'), undefined, 'a millisecond before');
});

t.test('verified anew at least every ten minutes, however long the token lives', async (t) => {
  const { clock, tokens } = await verifiedTokens(start);
  tokens.set('long', caller, { exp: seconds(start) + 86_400 }, k1);
  tokens.set('no-exp', caller, {}, k1);
  clock.now = start + CACHE_TTL_MS;
  t.equal(tokens.get('long'), caller);
  t.equal(tokens.get('no-exp'), caller);
  clock.now += 1;
  t.equal(tokens.get('long'), undefined);
  t.equal(tokens.get('no-exp'), undefined);
});

t.test('a key withdrawn from the key set stops serving the tokens it verified', async (t) => {
  const { signingKeys, tokens } = await verifiedTokens(Date.now());
  tokens.set('by-k1', caller, {}, k1);
  published = [keys.k2];
  // A token naming k2 makes the key set be read again: k1 is no longer in it.
  await signingKeys.verificationKeyFor(source, 'RS256', 'k2');
  t.equal(tokens.get('by-k1'), undefined);
  tokens.set('by-k1', caller, {}, k1);
  t.equal(tokens.get('by-k1'), undefined, 'nor is a token remembered for a key not held');
  tokens.set('by-k2', caller, {}, { ...k1, kid: 'k2' });
  t.equal(tokens.get('by-k2'), caller);
});

t.test('a key replaced under the same kid stops serving; an unchanged one keeps serving', async (t) => {
  const { signingKeys, tokens } = await verifiedTokens(Date.now());
  tokens.set('by-k1', caller, {}, k1);
  published = [keys.k1, keys.k2];
  await signingKeys.verificationKeyFor(source, 'RS256', 'k2');
  t.equal(tokens.get('by-k1'), caller, 'the set read again, k1 unchanged');
  published = [{ ...publicJwk('k1') }, keys.k2];
  await Promise.resolve().then(() => signingKeys.verificationKeyFor(source, 'RS256', 'unknown')).catch(() => undefined);
  t.equal(tokens.get('by-k1'), undefined, 'k1 is another key now');
});

t.test('at its bound, the least recently used entry goes', async (t) => {
  const { tokens } = await verifiedTokens(Date.now());
  const BOUND = 10_000;
  for (let i = 0; i < BOUND; i++) tokens.set(`token-${i}`, caller, {}, k1);
  t.equal(tokens.get('token-0'), caller, 'all kept up to the bound (token-0 now the most recently used)');
  tokens.set('token-new', caller, {}, k1);
  t.equal(tokens.get('token-1'), undefined, 'the least recently used went');
  t.equal(tokens.get('token-0'), caller);
  t.equal(tokens.get('token-2'), caller);
});

t.test('bounded in bytes too: callers with long subjects take more room', async (t) => {
  const { tokens } = await verifiedTokens(Date.now());
  // A subject of 255 characters at a long issuer URL: some 2 KiB an entry, so fewer than 10 000 fit.
  const long = oidcCaller(`https://${'i'.repeat(200)}.example/`, 's'.repeat(255));
  for (let i = 0; i < 10_000; i++) tokens.set(`token-${i}`, long, {}, k1);
  t.equal(tokens.get('token-0'), undefined, 'the first ones went before the count bound');
  t.equal(tokens.get('token-9999'), long);
});

t.test('a key is found under the same cache key however many kids were looked up meanwhile', async (t) => {
  const { signingKeys, tokens } = await verifiedTokens(Date.now());
  const before = signingKeys.cacheKeyOf(k1).cacheKey;
  tokens.set('token-a', caller, {}, k1);
  // Kids come from tokens: far more than the cache keys remembered per algorithm.
  for (let i = 0; i < 1000; i++) signingKeys.cacheKeyOf({ ...k1, kid: `made-up-${i}` });
  t.equal(signingKeys.cacheKeyOf(k1).cacheKey, before);
  t.equal(tokens.get('token-a'), caller, 'a token verified before is still served');
  const key = await signingKeys.verificationKeyFor(source, 'RS256', 'k1');
  t.equal(key.jwk, signingKeys.cachedKey(signingKeys.cacheKeyOf(k1)), 'and its key still found');
  t.not(signingKeys.cacheKeyOf({ ...k1, kid: 'made-up-1' }).cacheKey, before);
});
