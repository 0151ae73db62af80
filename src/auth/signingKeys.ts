// The public keys that verify callers' tokens (DESIGN §3 rule 3). They come from the key set
// of a trusted issuer (per allowed Entra tenant, or per AUTH_ISSUERS entry) — never from a URL
// found in a token — and are cached per key set, so a `kid` of one issuer never finds a key of
// another.
//
// A refresh reads the whole key set (discovery document, then jwks_uri, or jwks_uri directly,
// each with a timeout) and caches every usable key in get-jwks' cache, which also turns them
// into PEM. An unknown `kid` may cause at most one refresh per cooldown period: a stream of
// random `kid`s cannot become a stream of fetches, and cannot keep a newly published key out
// either, because the refresh it spends caches all of the issuer's keys.
import buildGetJwks from 'get-jwks';
import { isLoopbackHost } from '../config.js';
import { AuthError } from './authError.js';
import type { IdentityProviderHttp } from './identityProviderHttp.js';

export const UNKNOWN_KEY = 'The token is signed with an unknown key.';

/** Keys are read again at least this often, so that a withdrawn key stops verifying. */
const KEY_CACHE_TTL_MS = 60 * 60 * 1000;

/** Where an issuer's keys are, and which algorithms its tokens may use. */
export interface KeySetSource {
  /** Names the key set in the cache (a URL ending in "/"). */
  id: string;
  discoveryUrl?: string;
  jwksUri?: string;
  algorithms: readonly string[];
}

interface Jwk {
  kid?: unknown;
  kty?: unknown;
  use?: unknown;
  alg?: unknown;
  crv?: unknown;
}

/** The algorithm a published key verifies, if it is one of `algorithms` (else the key is unused). */
function algorithmOf(key: Jwk, algorithms: readonly string[]): string | undefined {
  if (typeof key.kid !== 'string' || (key.use !== undefined && key.use !== 'sig')) return undefined;
  const implied = key.kty === 'RSA' ? 'RS256' : key.kty === 'EC' && key.crv === 'P-256' ? 'ES256' : undefined;
  // A key that names its algorithm is used for that one only.
  const alg = key.alg === undefined ? implied : key.alg === implied ? implied : undefined;
  return alg !== undefined && algorithms.includes(alg) ? alg : undefined;
}

/** The signing keys could not be fetched: the service answers 503, not 401. */
export class KeySetUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The signing keys of the identity provider could not be read', { cause });
    this.name = 'KeySetUnavailableError';
  }
}

export class SigningKeys {
  private readonly jwks: ReturnType<typeof buildGetJwks>;
  private readonly lastRefresh = new Map<string, { at: number; failed: boolean }>();
  private readonly refreshing = new Map<string, Promise<void>>();
  // get-jwks converts the JWK to PEM on every lookup; the PEM of a cached JWK is kept here.
  private readonly pems = new Map<string, { jwk: unknown; pem: string }>();
  // Every kid any trusted key set has published since the start (a few; only ever added to): a
  // superset of the kids that can find a key, cached or stale.
  private readonly publishedKids = new Set<string>();
  private loaded = false;

  /**
   * `sources`: every key set this service trusts (get-jwks refuses any other); the first is
   * the one readiness waits for (the first Entra tenant's).
   */
  constructor(private readonly sources: KeySetSource[], private readonly cooldownSeconds: number, private readonly http: IdentityProviderHttp) {
    this.jwks = buildGetJwks({ ttl: KEY_CACHE_TTL_MS, issuersWhitelist: sources.map((source) => source.id) });
  }

  /** True once a key set has been read successfully (for /readyz). */
  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Reads the first key set, so that readiness reflects whether keys can be had. */
  async load(): Promise<void> {
    await this.refresh(this.sources[0]!);
  }

  /**
   * True when `kid` is surely unknown: no trusted key set has ever published it, and none may
   * be read again yet (each was read successfully within the cooldown, none is being read).
   * publicKeyFor would then refuse it too, with the same words; a flood of tokens signed with
   * made-up keys is refused on the header alone, without decoding their claims.
   */
  isSurelyUnknown(kid: string): boolean {
    if (this.publishedKids.has(kid)) return false;
    const now = Date.now();
    return this.sources.every((source) => {
      const last = this.lastRefresh.get(source.id);
      return last !== undefined && !last.failed && !this.refreshing.has(source.id) && now - last.at < this.cooldownSeconds * 1000;
    });
  }

  /**
   * The cached key (JWK object) at `cacheKey` (from cacheKeyOf), or undefined. A refresh
   * caches new objects, so the same object means the same key, unchanged since.
   */
  cachedKey(cacheKey: string): unknown {
    return this.jwks.cache.get(cacheKey);
  }

  /** Where the key of `keySet` under `alg` and `kid` is cached, for cachedKey. */
  cacheKeyOf({ keySet, alg, kid }: { keySet: KeySetSource; alg: string; kid: string }): string {
    return this.jwks.generateCacheKey(alg, kid, keySet.id);
  }

  /** The PEM public key for `kid` and `alg` in `source`, or a 401 AuthError. */
  async publicKeyFor(source: KeySetSource, alg: string, kid: string): Promise<string> {
    const domain = source.id;
    const cacheKey = this.cacheKeyOf({ keySet: source, alg, kid });
    if (this.cachedKey(cacheKey) === undefined) {
      const inFlight = this.refreshing.get(domain);
      const last = this.lastRefresh.get(domain);
      const coolingDown = !inFlight && last && Date.now() - last.at < this.cooldownSeconds * 1000;
      try {
        // Within the cooldown no refresh is made: after one that worked, the kid is unknown;
        // after one that failed, the keys cannot be checked at all.
        if (coolingDown && !last.failed) throw AuthError.invalidToken(UNKNOWN_KEY);
        if (coolingDown) throw new Error('the last key-set refresh failed');
        await (inFlight ?? this.refresh(source));
      } catch (error) {
        if (error instanceof AuthError) throw error;
        // The identity provider is down: a key read before still verifies until it answers.
        const stale = this.jwks.staleCache.get(cacheKey);
        if (stale === undefined) throw new KeySetUnavailableError(error);
        this.jwks.cache.set(cacheKey, stale);
      }
      if (this.cachedKey(cacheKey) === undefined) throw AuthError.invalidToken(UNKNOWN_KEY);
    }
    const jwk = this.cachedKey(cacheKey);
    const known = this.pems.get(cacheKey);
    if (known && known.jwk === jwk) return known.pem;
    const pem = await this.jwks.getPublicKey({ domain, alg, kid });
    this.pems.set(cacheKey, { jwk, pem });
    return pem;
  }

  /** Reads a key set; concurrent callers share one fetch. */
  private refresh(source: KeySetSource): Promise<void> {
    const domain = source.id;
    let refreshing = this.refreshing.get(domain);
    if (!refreshing) {
      // Counted from the attempt, so that failures are rate-limited too.
      const attempt = { at: Date.now(), failed: false };
      this.lastRefresh.set(domain, attempt);
      refreshing = this.fetchKeySet(source)
        .catch((error: unknown) => { attempt.failed = true; throw error; })
        .finally(() => this.refreshing.delete(domain));
      this.refreshing.set(domain, refreshing);
    }
    return refreshing;
  }

  private async fetchKeySet(source: KeySetSource): Promise<void> {
    let jwksUri = source.jwksUri;
    if (jwksUri === undefined) {
      const discovery = await this.http.getJson(source.discoveryUrl!);
      if (typeof discovery.jwks_uri !== 'string') throw new Error(`${source.discoveryUrl} has no jwks_uri`);
      const url = new URL(discovery.jwks_uri);
      // Keys only over TLS (plain http only from this machine, as for configured URLs).
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
        throw new Error(`${source.discoveryUrl} names keys at ${url.protocol}// off loopback`);
      }
      jwksUri = discovery.jwks_uri;
    }
    const { keys } = await this.http.getJson(jwksUri);
    let usable = 0;
    for (const key of Array.isArray(keys) ? (keys as Jwk[]) : []) {
      const alg = algorithmOf(key, source.algorithms);
      if (alg === undefined) continue;
      this.jwks.cache.set(this.cacheKeyOf({ keySet: source, alg, kid: key.kid as string }), key as never);
      this.publishedKids.add(key.kid as string);
      usable++;
    }
    if (usable === 0) throw new Error(`${jwksUri} lists no signing keys for ${source.algorithms.join(', ')}`);
    this.loaded = true;
  }
}
