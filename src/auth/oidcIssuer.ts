// An OpenID Connect issuer trusted beside Entra ID (AUTH_ISSUERS): its tokens are checked as
// strictly as Entra's (docs/identity-providers.md), and its users are keyed by (issuer, subject claim), so the
// same subject at two issuers is two users.
import { AuthError } from './authError.js';
import type { OidcIssuerConfig } from './issuersConfig.js';
import { oidcCaller, type OidcCaller } from './caller.js';
import type { DecodedJwt, KeyToVerify, TrustedIssuer } from './issuer.js';
import type { KeySetSource } from './signingKeys.js';
import { checkHeader } from './tokenHeader.js';

const MAX_SUBJECT_LENGTH = 255;
// A subject is an identifier, never text with control characters (PostgreSQL refuses NUL).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** The token's scopes: `scope` or `scp`, space-separated, or a list (as Okta writes `scp`). */
function grantedScopes(payload: Record<string, unknown>): string[] {
  const scopes: string[] = [];
  for (const claim of [payload.scope, payload.scp]) {
    if (typeof claim === 'string') scopes.push(...claim.split(' '));
    else if (Array.isArray(claim)) scopes.push(...claim.filter((entry): entry is string => typeof entry === 'string'));
  }
  return scopes;
}

export class OidcIssuer implements TrustedIssuer {
  readonly keySet: KeySetSource;
  readonly requiredScope: string | undefined;

  constructor(readonly config: OidcIssuerConfig) {
    this.requiredScope = config.scope;
    const base = config.issuer.replace(/\/$/, '');
    this.keySet = {
      // Keys are cached per issuer: a `kid` of one issuer can never pick a key of another.
      id: `${base}/`,
      ...(config.jwksUri ? { jwksUri: config.jwksUri } : { discoveryUrl: `${base}/.well-known/openid-configuration` }),
      algorithms: config.algorithms,
    };
  }

  keyToVerify({ header, payload }: DecodedJwt): KeyToVerify {
    const { alg, kid } = checkHeader(header, this.config.algorithms);
    const { aud } = payload;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(this.config.audience)) throw AuthError.invalidToken('The token audience is not accepted.');
    if (typeof payload.exp !== 'number') throw AuthError.invalidToken('The token has no "exp" claim.');
    return { keySet: this.keySet, alg, kid };
  }

  authenticatedUser(payload: Record<string, unknown>): OidcCaller {
    const { subjectClaim, scope, issuer } = this.config;
    const subject = payload[subjectClaim];
    if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH || CONTROL_CHARACTER.test(subject)) {
      throw AuthError.invalidToken(`The token has no valid "${subjectClaim}" claim.`);
    }
    if (scope !== undefined && !grantedScopes(payload).includes(scope)) {
      throw AuthError.insufficientScope(`The token does not grant the scope ${scope}.`, scope);
    }
    return oidcCaller(issuer, subject);
  }
}
