// The public keys that verify callers' tokens (DESIGN §3 rule 3). They come from the key set
// of the configured authority, per allowed tenant — never from a URL found in a token.
//
// A refresh reads the whole key set (discovery document, then jwks_uri, each with a timeout)
// and caches every key in get-jwks' cache, which also turns them into PEM. An unknown `kid`
// may cause at most one refresh per cooldown period: a stream of random `kid`s cannot become
// a stream of fetches, and cannot keep a newly published key out either, because the refresh
// it spends caches all of the tenant's keys.
import buildGetJwks from 'get-jwks';
import { AuthError } from './authError.js';
import type { AuthConfig } from '../config.js';
import type { IdentityProviderHttp } from './identityProviderHttp.js';

/** Keys are read again at least this often, so that a withdrawn key stops verifying. */
const KEY_CACHE_TTL_MS = 60 * 60 * 1000;

interface Jwk {
  kid?: unknown;
  kty?: unknown;
  use?: unknown;
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
  private loaded = false;

  constructor(private readonly auth: AuthConfig, private readonly http: IdentityProviderHttp) {
    this.jwks = buildGetJwks({
      ttl: KEY_CACHE_TTL_MS,
      // Defence in depth: get-jwks itself refuses any other domain.
      issuersWhitelist: auth.allowedTenants.map((tenant) => this.keyDomain(tenant)),
    });
  }

  /** The authority's v2.0 base of a tenant; its discovery document is under /.well-known/. */
  private keyDomain(tenantId: string): string {
    return `${this.auth.authorityHost}/${tenantId}/v2.0/`;
  }

  /** True once a key set has been read successfully (for /readyz). */
  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Reads the first allowed tenant's key set, so that readiness reflects whether keys can be had. */
  async load(): Promise<void> {
    await this.refresh(this.auth.allowedTenants[0]!);
  }

  /** The PEM public key for `kid` of `tenantId` (an allowed tenant), or a 401 AuthError. */
  async publicKeyFor(tenantId: string, kid: string): Promise<string> {
    const domain = this.keyDomain(tenantId);
    const cacheKey = this.jwks.generateCacheKey('RS256', kid, domain);
    if (this.jwks.cache.get(cacheKey) === undefined) {
      const inFlight = this.refreshing.get(domain);
      const last = this.lastRefresh.get(domain);
      const coolingDown = !inFlight && last && Date.now() - last.at < this.auth.unknownKeyRefreshCooldownSeconds * 1000;
      try {
        // Within the cooldown no refresh is made: after one that worked, the kid is unknown;
        // after one that failed, the keys cannot be checked at all.
        if (coolingDown && !last.failed) throw AuthError.invalidToken('The token is signed with an unknown key.');
        if (coolingDown) throw new Error('the last key-set refresh failed');
        await (inFlight ?? this.refresh(tenantId));
      } catch (error) {
        if (error instanceof AuthError) throw error;
        // The identity provider is down: a key read before still verifies until it answers.
        const stale = this.jwks.staleCache.get(cacheKey);
        if (stale === undefined) throw new KeySetUnavailableError(error);
        this.jwks.cache.set(cacheKey, stale);
      }
      if (this.jwks.cache.get(cacheKey) === undefined) throw AuthError.invalidToken('The token is signed with an unknown key.');
    }
    const jwk = this.jwks.cache.get(cacheKey);
    const known = this.pems.get(cacheKey);
    if (known && known.jwk === jwk) return known.pem;
    const pem = await this.jwks.getPublicKey({ domain, alg: 'RS256', kid });
    this.pems.set(cacheKey, { jwk, pem });
    return pem;
  }

  /** Reads the tenant's key set; concurrent callers share one fetch. */
  private refresh(tenantId: string): Promise<void> {
    const domain = this.keyDomain(tenantId);
    let refreshing = this.refreshing.get(domain);
    if (!refreshing) {
      // Counted from the attempt, so that failures are rate-limited too.
      const attempt = { at: Date.now(), failed: false };
      this.lastRefresh.set(domain, attempt);
      refreshing = this.fetchKeySet(domain)
        .catch((error: unknown) => { attempt.failed = true; throw error; })
        .finally(() => this.refreshing.delete(domain));
      this.refreshing.set(domain, refreshing);
    }
    return refreshing;
  }

  private async fetchKeySet(domain: string): Promise<void> {
    const discovery = await this.http.getJson(`${domain}.well-known/openid-configuration`);
    if (typeof discovery.jwks_uri !== 'string') throw new Error(`${domain} has no jwks_uri`);
    const { keys } = await this.http.getJson(discovery.jwks_uri);
    const signingKeys = (Array.isArray(keys) ? (keys as Jwk[]) : [])
      .filter((key) => key.kty === 'RSA' && typeof key.kid === 'string' && (key.use === undefined || key.use === 'sig'));
    if (signingKeys.length === 0) throw new Error(`${discovery.jwks_uri} lists no RSA signing keys`);
    for (const key of signingKeys) {
      this.jwks.cache.set(this.jwks.generateCacheKey('RS256', key.kid as string, domain), key as never);
    }
    this.loaded = true;
  }
}
