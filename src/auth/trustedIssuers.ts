// Which issuers this service trusts, and how their claims become a user key (README):
// Microsoft Entra ID v2 tokens from the allowed tenants, keyed by (tid, oid), and the OpenID
// Connect issuers of AUTH_ISSUERS (oidcIssuer.ts), keyed by (iss, subject claim).
// TrustedIssuers is the one place that picks, from the token's `iss`, whose rules apply.
import type { AuthConfig } from './authSettings.js';
import { appOnlyMarker } from './appOnlyTokens.js';
import { AuthError } from './authError.js';
import type { OidcIssuer } from './oidcIssuer.js';
import type { KeyReference, KeySetSource } from './signingKeys.js';

/** Who the caller is, once the token has been verified. */
export interface AuthenticatedUser {
  /** Entra ID, or another OpenID Connect issuer (AUTH_ISSUERS). */
  kind: 'entra' | 'oidc';
  /** The Entra tenant id; for another issuer, its `iss`. */
  tenantId: string;
  /** The Entra object id; for another issuer, its subject claim. */
  objectId: string;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** The options fast-jwt enforces during verification, after the signature check. */
export interface VerificationRules {
  allowedIss: string[];
  allowedAud: string[];
  algorithms: string[];
  requiredClaims: string[];
  clockToleranceMs: number;
}

/** Which key must verify a token: a key set, and the key's algorithm and id in it. */
export type KeyToVerify = KeyReference;

/** An issuer's rules: what it checks before the signature, and who the verified caller is. */
export interface TrustedIssuer {
  /** The scope its users' tokens must grant, if any (named in a 403's challenge). */
  readonly requiredScope: string | undefined;
  keyToVerify(token: DecodedJwt): KeyToVerify;
  authenticatedUser(payload: Record<string, unknown>): AuthenticatedUser;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Header fields that would let a token name its own key: never honoured, always refused.
const KEY_BEARING_HEADER_FIELDS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'];

/**
 * The text that stands for a user in hashes and rate-limit keys, unambiguous for every issuer:
 * an Entra tenant is a GUID (no "/"), but another issuer's URL and subject may both hold "/",
 * so theirs is length-prefixed.
 */
export function userKey(user: { tenantId: string; objectId: string }): string {
  return GUID.test(user.tenantId) ? `${user.tenantId}/${user.objectId}` : `${user.tenantId.length}:${user.tenantId}/${user.objectId}`;
}

/** The header checks every issuer shares: an allowed algorithm, no key of its own, a `kid`. */
export function checkHeader(header: Record<string, unknown>, algorithms: readonly string[]): { alg: string; kid: string } {
  const { alg, kid } = header;
  if (typeof alg !== 'string' || !algorithms.includes(alg)) throw AuthError.invalidToken(`The token must be signed with ${algorithms.join(' or ')}.`);
  for (const field of KEY_BEARING_HEADER_FIELDS) {
    if (field in header) throw AuthError.invalidToken(`The token header must not contain "${field}".`);
  }
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 128) {
    throw AuthError.invalidToken('The token header has no valid "kid".');
  }
  return { alg, kid };
}

export class EntraIssuer implements TrustedIssuer {
  /** The issuer (`iss`) of each allowed tenant. */
  readonly issuers: string[];
  /**
   * Entra ID's key set: one for every tenant, read once through the first allowed tenant's
   * v2.0 discovery document (never once per tenant).
   */
  readonly keySet: KeySetSource;
  /** Each allowed tenant's issuer, worked out once: a token's tenant binds its issuer. */
  private readonly issuerOfTenant: Map<string, string>;

  readonly requiredScope: string;

  constructor(private readonly auth: AuthConfig) {
    this.requiredScope = auth.requiredScope;
    this.issuerOfTenant = new Map(auth.allowedTenants.map((tenant) => [tenant, `${auth.authorityHost}/${tenant}/v2.0`]));
    this.issuers = [...this.issuerOfTenant.values()];
    const id = `${this.issuers[0]}/`;
    this.keySet = { id, discoveryUrl: `${id}.well-known/openid-configuration`, algorithms: ['RS256'] };
  }

  /**
   * Checks what can be checked before the signature, so that a token this service would refuse
   * anyway never causes a key lookup. Returns the tenant whose keys must verify it.
   */
  keyToVerify({ header, payload }: DecodedJwt): KeyToVerify {
    const { alg, kid } = checkHeader(header, ['RS256']);
    const tenantId = payload.tid;
    if (typeof tenantId !== 'string' || !GUID.test(tenantId)) throw AuthError.invalidToken('The token has no valid "tid" claim.');
    const issuer = this.issuerOfTenant.get(tenantId);
    if (issuer === undefined) throw AuthError.invalidToken('The token\'s tenant is not allowed.');
    // The issuer is bound to the token's own tenant: a token of tenant A may not claim B's issuer.
    if (payload.iss !== issuer) throw AuthError.invalidToken('The token issuer is not accepted.');
    if (typeof payload.aud !== 'string') throw AuthError.invalidToken('The token audience must be a single string.');
    if (!this.auth.audiences.includes(payload.aud)) throw AuthError.invalidToken('The token audience is not accepted.');
    if (typeof payload.exp !== 'number') throw AuthError.invalidToken('The token has no "exp" claim.');
    if (typeof payload.nbf !== 'number') throw AuthError.invalidToken('The token has no "nbf" claim.');
    return { keySet: this.keySet, alg, kid };
  }

  /** Maps a verified payload to the caller, enforcing the scope and the user-key claims. */
  authenticatedUser(payload: Record<string, unknown>): AuthenticatedUser {
    const objectId = payload.oid;
    if (typeof objectId !== 'string' || !GUID.test(objectId)) throw AuthError.invalidToken('The token has no valid "oid" claim.');
    const scopes = typeof payload.scp === 'string' ? payload.scp.split(' ') : [];
    if (!scopes.includes(this.auth.requiredScope)) {
      throw AuthError.insufficientScope(payload.scp === undefined && payload.roles !== undefined
        ? `App-only tokens are not accepted: a user token with the scope ${this.auth.requiredScope} is required.`
        : `The token does not grant the scope ${this.auth.requiredScope}.`);
    }
    return { kind: 'entra', tenantId: payload.tid as string, objectId };
  }
}

/**
 * The one place that decides whose rules apply to a token: its `iss`, compared exactly with
 * the trusted issuers before any key is fetched. A token of an issuer not listed is refused
 * here, without any outbound request.
 */
export class TrustedIssuers {
  private readonly byIssuer = new Map<string, TrustedIssuer>();
  readonly rules: VerificationRules;

  private readonly entraTenantsPrefix: string;

  constructor(auth: AuthConfig, readonly entra: EntraIssuer, readonly others: OidcIssuer[]) {
    this.entraTenantsPrefix = `${auth.authorityHost}/`;
    for (const issuer of entra.issuers) this.byIssuer.set(issuer, entra);
    for (const other of others) this.byIssuer.set(other.config.issuer, other);
    // fast-jwt checks these again after the signature, for any issuer: the union. What binds
    // an issuer to its own audience and algorithms is its keyToVerify, before the key lookup.
    this.rules = {
      allowedIss: [...this.byIssuer.keys()],
      allowedAud: [...new Set([...auth.audiences, ...others.map((other) => other.config.audience)])],
      algorithms: [...new Set(['RS256', ...others.flatMap((other) => other.config.algorithms)])],
      requiredClaims: ['iss', 'aud', 'exp'],
      clockToleranceMs: auth.clockToleranceSeconds * 1000,
    };
  }

  /**
   * Who the caller of a verified token is: a user of its issuer, never an application acting
   * for itself (appOnlyTokens.ts), whoever the issuer; or a 401/403 AuthError.
   */
  callerOf(payload: Record<string, unknown>): AuthenticatedUser {
    const issuer = this.issuerOf({ header: {}, payload });
    const appOnly = appOnlyMarker(payload);
    if (appOnly !== undefined) {
      throw AuthError.insufficientScope(`App-only tokens are not accepted (${appOnly}): a user's token is required.`, issuer.requiredScope ?? null);
    }
    return issuer.authenticatedUser(payload);
  }

  /** The issuer whose rules apply to this (not yet verified) token, or a 401. */
  issuerOf({ payload }: DecodedJwt): TrustedIssuer {
    const issuer = typeof payload.iss === 'string' ? this.byIssuer.get(payload.iss) : undefined;
    if (issuer) return issuer;
    // The configured authority, but a tenant not listed: say so, it is what an admin must fix.
    const fromAuthority = typeof payload.iss === 'string' && payload.iss.startsWith(this.entraTenantsPrefix) && typeof payload.tid === 'string';
    throw AuthError.invalidToken(fromAuthority ? 'The token\'s tenant is not allowed.' : 'The token issuer is not accepted.');
  }
}
