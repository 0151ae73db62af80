// A caller's ACS identity and its tokens: found, created once, tokens issued (or served again)
// and revoked. Every ACS call is counted against the caller's ACS-call budget first.
import type { AcsScope } from '../acs/acsScopes.js';
import type { IssuedToken } from '../acs/acsIdentityClient.js';
import type { Caller } from '../auth/caller.js';
import { inSpan, type StepSpan } from '../telemetry/hooks.js';
import type { StoredIdentity } from '../db/identityStore.js';
import type { IdentityCollaborators } from './collaborators.js';
import type { IdentityCreation } from './identityCreation.js';
import type { TokenReuseCache } from './tokenReuseCache.js';

/** The scopes and lifetime of the token a caller asked for. */
export interface TokenRequest {
  scopes: AcsScope[];
  expiresInMinutes: number;
}

export interface IdentityToken {
  token: string;
  /** When the token expires, in ISO 8601 (a token served again keeps the string it was first given). */
  expiresOn: string;
  acsUserId: string;
}

type Collaborators = Pick<IdentityCollaborators, 'store' | 'acs' | 'budget' | 'metrics' | 'audit' | 'hashUser'>;

export class IdentityService {
  constructor(
    private readonly use: Collaborators,
    private readonly creation: IdentityCreation,
    private readonly recentTokens: TokenReuseCache,
    /** Whether a token request creates a missing identity (else the caller must create it). */
    private readonly autoCreate: boolean,
  ) {}

  find(caller: Caller): Promise<StoredIdentity | undefined> {
    return this.use.store.find(caller);
  }

  /** The caller's identity, created unless it exists; `created` says whether this request did. */
  async createIdentity(caller: Caller): Promise<{ identity: StoredIdentity; created: boolean }> {
    const existing = await this.use.store.find(caller);
    if (existing) return { identity: existing, created: false };
    const { identity, created } = await this.creation.createOnce(caller, () => this.use.acs.createIdentity());
    return { identity, created: created !== undefined };
  }

  /**
   * A token for the caller's identity: served again when a recent one may be, else issued by
   * ACS. Undefined when the caller has no identity and token requests do not create one.
   */
  issueToken(caller: Caller, request: TokenRequest): Promise<IdentityToken | undefined> {
    return inSpan('token issue', {}, (span) => this.issue(caller, request, span));
  }

  /** `span` says where the token came from (acs.token.source): reused, shared, issued or created. */
  private async issue(caller: Caller, { scopes, expiresInMinutes }: TokenRequest, span: StepSpan): Promise<IdentityToken | undefined> {
    const { store, acs, budget } = this.use;
    const { recentTokens } = this;
    const issueMinutes = recentTokens.lifetimeToIssue(expiresInMinutes);

    let identity = await store.find(caller);
    // A new identity comes with its first token: one ACS call, not two.
    let issued: IssuedToken | undefined;
    if (!identity) {
      if (!this.autoCreate) return undefined;
      const result = await this.creation.createOnce(caller, () => acs.createIdentityWithToken(scopes, issueMinutes));
      identity = result.identity;
      issued = result.created;
      if (issued) span.setAttributes({ 'acs.token.source': 'created' });
      if (issued) recentTokens.set(identity.acsUserId, scopes, issueMinutes, issued, identity.readAt);
    }
    const known = identity;
    let reused = false;
    if (!issued) {
      const again = recentTokens.get(known.acsUserId, scopes, expiresInMinutes, known.tokensRevokedAt);
      if (again) {
        span.setAttributes({ 'acs.token.source': 'reused' });
        this.countIssued(caller, scopes, expiresInMinutes, true);
        return { token: again.token, expiresOn: again.expiresOnIso, acsUserId: known.acsUserId };
      }
      ({ issued, shared: reused } = await recentTokens.issueOnce(known.acsUserId, scopes, issueMinutes, known, async () => {
        await budget.spend(caller, 'issueToken');
        return acs.issueToken(known.acsUserId, scopes, issueMinutes);
      }));
      span.setAttributes({ 'acs.token.source': reused ? 'shared' : 'issued' });
    }
    this.countIssued(caller, scopes, expiresInMinutes, reused);
    return { token: issued.token, expiresOn: issued.expiresOn.toISOString(), acsUserId: known.acsUserId };
  }

  private countIssued(caller: Caller, scopes: AcsScope[], expiresInMinutes: number, reused: boolean): void {
    const { metrics, audit, hashUser } = this.use;
    metrics.tokensIssued.inc({ kind: reused ? 'reused' : 'user' });
    // A token served again is counted, not written a row each: a reload storm would otherwise
    // be a row per request, and the INSERTs' work in PostgreSQL shares the machine.
    if (reused) audit.tally('token_issued', { scopes, expiresInMinutes, reused: true }, hashUser(caller));
    else audit.record('token_issued', hashUser(caller), { scopes, expiresInMinutes, reused: false });
  }

  /** Revokes the caller's ACS tokens, if the caller has an identity. */
  revokeTokens(caller: Caller): Promise<void> {
    return revokeTokensOf(this.use, caller);
  }
}

/**
 * Revokes the caller's ACS tokens, if the caller has an identity, the call paid from `budget`
 * (the caller's own, or the administrators' pace when an operator asks).
 */
export async function revokeTokensOf(use: Pick<IdentityCollaborators, 'store' | 'acs' | 'budget' | 'audit' | 'hashUser'>, caller: Caller): Promise<void> {
  const { store, acs, budget, audit, hashUser } = use;
  const identity = await store.find(caller);
  if (!identity) return;
  await budget.spend(caller, 'revokeTokens');
  await acs.revokeTokens(identity.acsUserId);
  // Every replica reads this with the mapping: none serves an older token again.
  await store.markTokensRevoked(caller);
  audit.record('tokens_revoked', hashUser(caller));
}
