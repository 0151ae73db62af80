// The public keys that verify callers' tokens (docs/security.md, "Signing keys"). They come from the key set
// of a trusted issuer (Entra ID's, shared by all its tenants, or an AUTH_ISSUERS entry's) —
// never from a URL found in a token.
//
// Each key set has a cache of its own (a get-jwks instance), so one issuer's keys can never
// evict another's, and a key is found only under the issuer that published it. A read replaces
// the whole set: a withdrawn key stops verifying, a new one verifies at once. A read that fails
// changes nothing: the last good set keeps verifying (up to KEY_RETENTION_MS).
//
// Reads: every KEY_SET_MAX_AGE_MS in the background, and when a token names a kid the set does
// not hold — at most once per cooldown period per key set, whatever the number of such tokens,
// so a stream of random kids costs a bounded number of fetches, and a key rotated in a moment
// after a read is found one cooldown later.
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import buildGetJwks from 'get-jwks';
import { isHttpsOrLoopbackHttp } from '../shared/urlRules.js';
import { AuthError } from './authError.js';
import type { IdentityProviderHttp } from './identityProviderHttp.js';

export const UNKNOWN_KEY = 'The token is signed with an unknown key.';

/** A key set is read again in the background once its last good read is this old. */
const KEY_SET_MAX_AGE_MS = 60 * 60 * 1000;
/** How long a key keeps verifying while its key set cannot be read again. */
const KEY_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Keys cached per key set (identity providers publish a handful); more are not used. */
const MAX_KEYS_PER_SET = 100;
/** Cache keys remembered per algorithm (cacheKeyOf). */
const MAX_MEMOIZED_CACHE_KEYS = 2 * MAX_KEYS_PER_SET;

/** Where an issuer's keys are, and which algorithms its tokens may use. */
export interface KeySetSource {
  /** Names the key set (a URL ending in "/"). */
  id: string;
  discoveryUrl?: string;
  jwksUri?: string;
  algorithms: readonly string[];
}

/** A key named by a token: its key set, algorithm and id. */
export interface KeyReference {
  keySet: KeySetSource;
  alg: string;
  kid: string;
}

/** Where a key is cached, for cachedKey (worked out once, kept by VerifiedTokens). */
export interface CachedKeyRef {
  readonly cache: { get(cacheKey: string): unknown };
  readonly cacheKey: string;
}

/**
 * A key that verifies tokens: the cached JWK object (the same object means the same key,
 * unchanged since: what the token caches compare), where it is cached, its PEM, which
 * @fastify/jwt verifies with (one fast-jwt verifier per PEM string), and the same key as a
 * KeyObject with its algorithm, for signatureIsFalse.
 */
export interface VerificationKey {
  readonly jwk: object;
  readonly cached: CachedKeyRef;
  readonly pem: string;
  readonly alg: string;
  readonly keyObject: KeyObject;
}

/**
 * True when the signature of `token` (a compact JWT whose three segments are base64url, as
 * the bearer rule requires) is surely not `key`'s: the same check fast-jwt makes, on the same
 * signed bytes, with the same key. False when it matches, and also when the check cannot be
 * made: only a definite mismatch is reported, so a token it passes is still verified whole.
 */
export function signatureIsFalse(token: string, key: VerificationKey): boolean {
  // Only the algorithms it knows: another (were one ever allowed) is left to fast-jwt alone.
  if (key.alg !== 'RS256' && key.alg !== 'ES256') return false;
  const dot = token.lastIndexOf('.');
  try {
    // RS256: PKCS #1 v1.5 (the default for an RSA key); ES256: JOSE's r||s form.
    return !verifySignature('sha256', Buffer.from(token.slice(0, dot)), key.alg === 'ES256' ? { key: key.keyObject, dsaEncoding: 'ieee-p1363' } : key.keyObject,
      Buffer.from(token.slice(dot + 1), 'base64url'));
  } catch {
    return false;
  }
}

interface Jwk {
  kid?: unknown;
  kty?: unknown;
  use?: unknown;
  alg?: unknown;
  crv?: unknown;
  n?: unknown;
  e?: unknown;
  x?: unknown;
  y?: unknown;
}

/** The algorithm a published key verifies, if it is one of `algorithms` (else the key is unused). */
function algorithmOf(key: Jwk, algorithms: readonly string[]): string | undefined {
  if (typeof key.kid !== 'string' || (key.use !== undefined && key.use !== 'sig')) return undefined;
  const implied = key.kty === 'RSA' ? 'RS256' : key.kty === 'EC' && key.crv === 'P-256' ? 'ES256' : undefined;
  // A key that names its algorithm is used for that one only.
  const alg = key.alg === undefined ? implied : key.alg === implied ? implied : undefined;
  return alg !== undefined && algorithms.includes(alg) ? alg : undefined;
}

/** Two JWKs hold the same public key (what a re-read of an unchanged set publishes again). */
function sameKeyMaterial(a: Jwk, b: Jwk): boolean {
  return a.kty === b.kty && a.n === b.n && a.e === b.e && a.crv === b.crv && a.x === b.x && a.y === b.y;
}

/** The signing keys could not be fetched: the service answers 503, not 401. */
export class KeySetUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The signing keys of the identity provider could not be read', { cause });
    this.name = 'KeySetUnavailableError';
  }
}

/** One key set: its own cache, and when it was last read. */
class KeySet {
  readonly jwks: ReturnType<typeof buildGetJwks>;
  /** When the last good read ended (undefined: never read). */
  readAt: number | undefined;
  /** The last read attempted (reads are counted from the attempt, so failures are spaced too). */
  lastAttempt: { at: number; failed: boolean } | undefined;
  reading: Promise<void> | undefined;
  /** The keys URL its discovery document named, and when. */
  discovered: { jwksUri: string; at: number } | undefined;
  /** The cache keys of the keys the last good read published. */
  published = new Set<string>();

  constructor(readonly source: KeySetSource) {
    this.jwks = buildGetJwks({ max: MAX_KEYS_PER_SET, ttl: KEY_RETENTION_MS, issuersWhitelist: [source.id] });
  }

  // get-jwks builds a cache key by escaping and joining its parts, on every lookup: each
  // token that reaches a key lookup paid it. Kept per alg (only the issuer's allowed ones get
  // here) and kid, a bounded few (kids come from tokens: beyond the bound the memo starts again).
  private readonly cacheKeys = new Map<string, Map<string, string>>();

  cacheKeyOf(alg: string, kid: string): string {
    let byKid = this.cacheKeys.get(alg);
    if (byKid === undefined) this.cacheKeys.set(alg, byKid = new Map<string, string>());
    let cacheKey = byKid.get(kid);
    if (cacheKey === undefined) {
      if (byKid.size >= MAX_MEMOIZED_CACHE_KEYS) byKid.clear();
      cacheKey = this.jwks.generateCacheKey(alg, kid, this.source.id);
      byKid.set(kid, cacheKey);
    }
    return cacheKey;
  }

  /** True while a read may not be made: one was attempted within the cooldown, or is running. */
  coolingDown(cooldownMs: number, now: number): boolean {
    return this.reading !== undefined || (this.lastAttempt !== undefined && now - this.lastAttempt.at < cooldownMs);
  }
}

export class SigningKeys {
  private readonly keySets = new Map<string, KeySet>();
  private readonly cooldownMs: number;
  // get-jwks converts the JWK to PEM on every lookup; each cached JWK's is kept here.
  private readonly verificationKeys = new WeakMap<object, VerificationKey>();
  /**
   * Signature checks since the start: the check of the signature alone that precedes
   * @fastify/jwt's (counted by the authentication plugin; a test can see that a refusal was
   * remembered). A token it passes is checked again, whole, by @fastify/jwt.
   */
  signatureChecks = 0;
  // Every kid any trusted key set has published since the start (a few; only ever added to): a
  // superset of the kids that can find a key.
  private readonly publishedKids = new Set<string>();
  /** The key set readiness waits for. */
  private readonly first: KeySet;

  /**
   * `sources`: every key set this service trusts; the first is the one readiness waits for
   * (Entra ID's).
   */
  constructor(sources: KeySetSource[], cooldownSeconds: number, private readonly http: IdentityProviderHttp) {
    for (const source of sources) this.keySets.set(source.id, new KeySet(source));
    this.first = this.keySets.values().next().value!;
    this.cooldownMs = cooldownSeconds * 1000;
  }

  /** True once the first key set has been read successfully (for /readyz). */
  get isLoaded(): boolean {
    return this.first.readAt !== undefined;
  }

  /**
   * Reads the first key set, so that readiness reflects whether keys can be had; within the
   * cooldown, answers with the last read's outcome instead (probes do not add reads).
   */
  async load(): Promise<void> {
    const keySet = this.first;
    if (!keySet.reading && keySet.coolingDown(this.cooldownMs, Date.now())) {
      if (keySet.lastAttempt?.failed) throw new KeySetUnavailableError(new Error(`the last read of ${keySet.source.id} failed`));
      return;
    }
    await (keySet.reading ?? this.read(keySet));
  }

  /**
   * True when `kid` is surely unknown: no trusted key set has ever published it, and none may
   * be read again yet (each was read successfully within the cooldown, none is being read).
   * verificationKeyFor would then refuse it too, with the same words; a flood of tokens signed with
   * made-up keys is refused on the header alone, without decoding their claims.
   */
  isSurelyUnknown(kid: string): boolean {
    if (this.publishedKids.has(kid)) return false;
    const now = Date.now();
    for (const keySet of this.keySets.values()) {
      const last = keySet.lastAttempt;
      if (last === undefined || last.failed || keySet.reading !== undefined || now - last.at >= this.cooldownMs) return false;
    }
    return true;
  }

  /** Where the key named by `key` is cached, for cachedKey. */
  cacheKeyOf({ keySet, alg, kid }: KeyReference): CachedKeyRef {
    const cached = this.keySetOf(keySet);
    return { cache: cached.jwks.cache, cacheKey: cached.cacheKeyOf(alg, kid) };
  }

  /**
   * The cached key (JWK object) at `ref`, or undefined. A read caches a new object only for a
   * new or changed key, so the same object means the same key, unchanged since.
   */
  cachedKey(ref: CachedKeyRef): unknown {
    return ref.cache.get(ref.cacheKey);
  }

  /**
   * The key for `kid` and `alg` in `source`, or a 401 AuthError, or a 503 error: at once when
   * it is cached and its PEM known (most tokens), else once the key set has been read (when
   * it may be) and the PEM worked out.
   */
  verificationKeyFor(source: KeySetSource, alg: string, kid: string): VerificationKey | Promise<VerificationKey> {
    const keySet = this.keySetOf(source);
    const cacheKey = keySet.cacheKeyOf(alg, kid);
    const jwk = keySet.jwks.cache.get(cacheKey) as object | undefined;
    if (jwk === undefined) return this.readFor(keySet, alg, kid, cacheKey);
    const now = Date.now();
    if (keySet.readAt !== undefined && now - keySet.readAt > KEY_SET_MAX_AGE_MS && !keySet.coolingDown(this.cooldownMs, now)) {
      // Due again: read in the background; the key found now verifies meanwhile.
      this.read(keySet).catch(() => undefined);
    }
    return this.verificationKeys.get(jwk) ?? this.verificationKeyOf(keySet, alg, kid, cacheKey, jwk);
  }

  /** A key not cached: read the key set if it may be, then look again. */
  private async readFor(keySet: KeySet, alg: string, kid: string, cacheKey: string): Promise<VerificationKey> {
    let readError: unknown;
    if (keySet.reading || !keySet.coolingDown(this.cooldownMs, Date.now())) {
      await (keySet.reading ?? this.read(keySet)).catch((error: unknown) => { readError = error; });
    }
    const jwk = keySet.jwks.cache.get(cacheKey) as object | undefined;
    if (jwk === undefined) {
      // Published at the last read, or not: 401. No read to tell (it failed): 503.
      if (keySet.lastAttempt?.failed) throw new KeySetUnavailableError(readError ?? new Error(`the last read of ${keySet.source.id} failed`));
      throw AuthError.invalidToken(UNKNOWN_KEY);
    }
    return this.verificationKeys.get(jwk) ?? this.verificationKeyOf(keySet, alg, kid, cacheKey, jwk);
  }

  /** The PEM of a cached JWK, by get-jwks (from its cache), kept for as long as that JWK is. */
  private async verificationKeyOf(keySet: KeySet, alg: string, kid: string, cacheKey: string, jwk: object): Promise<VerificationKey> {
    const pem = await keySet.jwks.getPublicKey({ domain: keySet.source.id, alg, kid });
    const key = { jwk, cached: { cache: keySet.jwks.cache, cacheKey }, pem, alg, keyObject: createPublicKey(pem) };
    this.verificationKeys.set(jwk, key);
    return key;
  }

  private keySetOf(source: KeySetSource): KeySet {
    const keySet = this.keySets.get(source.id);
    if (keySet === undefined) throw new Error(`${source.id} is not a trusted key set`);
    return keySet;
  }

  /** Reads a key set; concurrent callers share one read. */
  private read(keySet: KeySet): Promise<void> {
    if (!keySet.reading) {
      const attempt = { at: Date.now(), failed: false };
      keySet.lastAttempt = attempt;
      keySet.reading = this.fetchKeySet(keySet)
        .catch((error: unknown) => { attempt.failed = true; throw error; })
        .finally(() => { keySet.reading = undefined; });
    }
    return keySet.reading;
  }

  /** The keys URL: configured, or named by the discovery document (read again hourly). */
  private async jwksUriOf(keySet: KeySet): Promise<string> {
    const { source, discovered } = keySet;
    if (source.jwksUri !== undefined) return source.jwksUri;
    if (discovered && Date.now() - discovered.at < KEY_SET_MAX_AGE_MS) return discovered.jwksUri;
    const discovery = await this.http.getJson(source.discoveryUrl!);
    if (typeof discovery.jwks_uri !== 'string') throw new Error(`${source.discoveryUrl} has no jwks_uri`);
    const url = new URL(discovery.jwks_uri);
    // Keys only over TLS (plain http only from this machine, as for configured URLs).
    if (!isHttpsOrLoopbackHttp(url)) {
      throw new Error(`${source.discoveryUrl} names keys at ${url.protocol}// off loopback`);
    }
    keySet.discovered = { jwksUri: discovery.jwks_uri, at: Date.now() };
    return discovery.jwks_uri;
  }

  private async fetchKeySet(keySet: KeySet): Promise<void> {
    const { source, jwks } = keySet;
    const jwksUri = await this.jwksUriOf(keySet);
    let keys: unknown;
    try {
      ({ keys } = await this.http.getJson(jwksUri));
    } catch (error) {
      // The keys moved, perhaps: the next read asks the discovery document again.
      keySet.discovered = undefined;
      throw error;
    }
    const published = new Map<string, Jwk>();
    for (const key of Array.isArray(keys) ? (keys as Jwk[]) : []) {
      const alg = algorithmOf(key, source.algorithms);
      if (alg !== undefined && published.size < MAX_KEYS_PER_SET) published.set(keySet.cacheKeyOf(alg, key.kid as string), key);
    }
    if (published.size === 0) throw new Error(`${jwksUri} lists no signing keys for ${source.algorithms.join(', ')}`);
    // The set is replaced whole: keys no longer published go, unchanged ones keep their object.
    for (const cacheKey of keySet.published) if (!published.has(cacheKey)) jwks.cache.delete(cacheKey);
    keySet.published = new Set(published.keys());
    for (const [cacheKey, key] of published) {
      const cached = jwks.cache.get(cacheKey) as Jwk | undefined;
      jwks.cache.set(cacheKey, (cached !== undefined && sameKeyMaterial(cached, key) ? cached : key) as never);
      this.publishedKids.add(key.kid as string);
    }
    keySet.readAt = Date.now();
  }
}
