// The public keys that verify callers' tokens (DESIGN §3 rule 3). Keys are looked up by
// `get-jwks` from the key set of the configured authority, per allowed tenant — never from a
// URL found in a token. An unknown `kid` may cause at most one key-set refresh per cooldown
// period, so a stream of random `kid`s cannot become a stream of fetches.
import buildGetJwks from 'get-jwks';
import { AuthError } from './authError.js';
import type { AuthConfig } from '../config.js';

const KEY_CACHE_TTL_MS = 60 * 60 * 1000;
const FETCH_TIMEOUT_MS = 5000;

export class SigningKeys {
  private readonly jwks: ReturnType<typeof buildGetJwks>;
  private readonly lastRefreshForUnknownKid = new Map<string, number>();
  private loaded = false;

  constructor(private readonly auth: AuthConfig) {
    this.jwks = buildGetJwks({
      providerDiscovery: true,
      ttl: KEY_CACHE_TTL_MS,
      // Defence in depth: get-jwks itself refuses any other domain.
      issuersWhitelist: auth.allowedTenants.map((tenant) => this.keyDomain(tenant)),
    });
  }

  /** The authority's v2.0 base for a tenant; discovery is read from `<base>/.well-known/…`. */
  keyDomain(tenantId: string): string {
    return `${this.auth.authorityHost}/${tenantId}/v2.0/`;
  }

  /** True once a key set has been read successfully (for /readyz). */
  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Reads the first allowed tenant's key set, so that readiness reflects whether keys can be had. */
  async load(): Promise<void> {
    const tenant = this.auth.allowedTenants[0]!;
    const jwksUri = await this.withTimeout(this.jwks.getJwksUri(this.keyDomain(tenant)));
    const response = await fetch(jwksUri, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    const body = (await response.json()) as { keys?: unknown[] };
    if (!response.ok || !Array.isArray(body.keys) || body.keys.length === 0) {
      throw new Error(`The key set at ${jwksUri} answered ${response.status} without keys`);
    }
    this.loaded = true;
  }

  /** The PEM public key for `kid` of `tenantId` (an allowed tenant), or a 401 AuthError. */
  async publicKeyFor(tenantId: string, kid: string): Promise<string> {
    const domain = this.keyDomain(tenantId);
    const cacheKey = this.jwks.generateCacheKey('RS256', kid, domain);
    const known = this.jwks.cache.get(cacheKey) !== undefined || this.jwks.staleCache.get(cacheKey) !== undefined;
    if (!known) {
      const last = this.lastRefreshForUnknownKid.get(domain) ?? -Infinity;
      if (Date.now() - last < this.auth.unknownKeyRefreshCooldownSeconds * 1000) {
        throw AuthError.invalidToken('The token is signed with an unknown key.');
      }
      this.lastRefreshForUnknownKid.set(domain, Date.now());
    }
    try {
      const pem = await this.withTimeout(this.jwks.getPublicKey({ domain, alg: 'RS256', kid }));
      this.loaded = true;
      return pem;
    } catch (error) {
      if (error instanceof AuthError) throw error;
      const code = (error as { code?: string }).code;
      if (code === 'JWK_NOT_FOUND') throw AuthError.invalidToken('The token is signed with an unknown key.');
      // The key set could not be read: the caller's token may be fine, but it cannot be checked.
      throw new KeySetUnavailableError(error);
    }
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    // get-jwks' own `timeout` fetch option is not honoured by Node's fetch; bound the wait here.
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`The key set did not answer within ${FETCH_TIMEOUT_MS} ms`)), FETCH_TIMEOUT_MS);
      promise.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  }
}

/** The signing keys could not be fetched: the service answers 503, not 401. */
export class KeySetUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The signing keys of the identity provider could not be read', { cause });
    this.name = 'KeySetUnavailableError';
  }
}
