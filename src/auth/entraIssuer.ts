// Microsoft Entra ID v2 tokens from the allowed tenants (docs/security.md): their users are keyed by
// (tid, oid).
import type { AuthConfig } from './authSettings.js';
import { AuthError } from './authError.js';
import { entraCaller, type EntraCaller } from './caller.js';
import type { DecodedJwt, KeyToVerify, TrustedIssuer } from './issuer.js';
import type { KeySetSource } from './signingKeys.js';
import { checkHeader } from './tokenHeader.js';
import { LOWER_CASE_GUID } from '../shared/guid.js';

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
    if (typeof tenantId !== 'string' || !LOWER_CASE_GUID.test(tenantId)) throw AuthError.invalidToken('The token has no valid "tid" claim.');
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
  authenticatedUser(payload: Record<string, unknown>): EntraCaller {
    const objectId = payload.oid;
    if (typeof objectId !== 'string' || !LOWER_CASE_GUID.test(objectId)) throw AuthError.invalidToken('The token has no valid "oid" claim.');
    const scopes = typeof payload.scp === 'string' ? payload.scp.split(' ') : [];
    if (!scopes.includes(this.auth.requiredScope)) {
      throw AuthError.insufficientScope(payload.scp === undefined && payload.roles !== undefined
        ? `App-only tokens are not accepted: a user token with the scope ${this.auth.requiredScope} is required.`
        : `The token does not grant the scope ${this.auth.requiredScope}.`);
    }
    return entraCaller(payload.tid as string, objectId);
  }
}
