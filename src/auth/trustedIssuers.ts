// Which issuers this service trusts, and how their claims become a user key (DESIGN §3).
// Today: Microsoft Entra ID v2 tokens from the allowed tenants, keyed by (tid, oid). Other
// issuers (External ID, Auth0, Keycloak: keyed by (iss, sub)) are meant to be added here.
import type { AuthConfig } from '../config.js';
import { AuthError } from './authError.js';

/** Who the caller is, once the token has been verified. */
export interface AuthenticatedUser {
  tenantId: string;
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
  requiredClaims: string[];
  clockToleranceMs: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Header fields that would let a token name its own key: never honoured, always refused.
const KEY_BEARING_HEADER_FIELDS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'];

export class EntraIssuer {
  readonly rules: VerificationRules;

  constructor(private readonly auth: AuthConfig) {
    this.rules = {
      allowedIss: auth.allowedTenants.map((tenant) => this.issuerOf(tenant)),
      allowedAud: auth.audiences,
      requiredClaims: ['iss', 'aud', 'exp', 'nbf', 'tid', 'oid'],
      clockToleranceMs: auth.clockToleranceSeconds * 1000,
    };
  }

  issuerOf(tenantId: string): string {
    return `${this.auth.authorityHost}/${tenantId}/v2.0`;
  }

  /**
   * Checks what can be checked before the signature, so that a token this service would refuse
   * anyway never causes a key lookup. Returns the tenant whose keys must verify it.
   */
  tenantToVerify({ header, payload }: DecodedJwt): { tenantId: string; kid: string } {
    if (header.alg !== 'RS256') throw AuthError.invalidToken('The token must be signed with RS256.');
    for (const field of KEY_BEARING_HEADER_FIELDS) {
      if (field in header) throw AuthError.invalidToken(`The token header must not contain "${field}".`);
    }
    const kid = header.kid;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 128) {
      throw AuthError.invalidToken('The token header has no valid "kid".');
    }
    const tenantId = payload.tid;
    if (typeof tenantId !== 'string' || !GUID.test(tenantId)) throw AuthError.invalidToken('The token has no valid "tid" claim.');
    if (!this.auth.allowedTenants.includes(tenantId)) throw AuthError.invalidToken('The token\'s tenant is not allowed.');
    // The issuer is bound to the token's own tenant: a token of tenant A may not claim B's issuer.
    if (payload.iss !== this.issuerOf(tenantId)) throw AuthError.invalidToken('The token issuer is not accepted.');
    if (typeof payload.aud !== 'string') throw AuthError.invalidToken('The token audience must be a single string.');
    if (typeof payload.exp !== 'number') throw AuthError.invalidToken('The token has no "exp" claim.');
    if (typeof payload.nbf !== 'number') throw AuthError.invalidToken('The token has no "nbf" claim.');
    return { tenantId, kid };
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
    return { tenantId: payload.tid as string, objectId };
  }
}
