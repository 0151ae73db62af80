// Which issuers this service trusts (docs/security.md): Microsoft Entra ID (entraIssuer.ts) and the
// OpenID Connect issuers of AUTH_ISSUERS (oidcIssuer.ts). TrustedIssuers is the one place that
// picks, from the token's `iss`, whose rules apply.
import type { AuthConfig } from './authSettings.js';
import { appOnlyMarker } from './appOnlyTokens.js';
import { AuthError } from './authError.js';
import type { Caller } from './caller.js';
import type { EntraIssuer } from './entraIssuer.js';
import type { DecodedJwt, TrustedIssuer } from './issuer.js';
import type { OidcIssuer } from './oidcIssuer.js';

/** The options fast-jwt enforces during verification, after the signature check. */
export interface VerificationRules {
  allowedIss: string[];
  allowedAud: string[];
  algorithms: string[];
  requiredClaims: string[];
  clockToleranceMs: number;
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
  callerOf(payload: Record<string, unknown>): Caller {
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
