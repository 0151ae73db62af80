// What an operator does to a user through the admin API (or the admin CLI): revoke their ACS
// tokens, or delete them as DELETE /api/user does (IdentityDeletions: the mapping at once, the
// ACS identity now or queued), with an erasure receipt that records who asked and when ACS
// confirmed. Every operation is written to the audit trail under the user's keyed hash, with
// the operator application's id.
import type { AuditTrail } from '../audit/auditTrail.js';
import type { Caller } from '../auth/caller.js';
import type { Logger } from '../identities/collaborators.js';
import type { IdentityDeletions } from '../identities/identityDeletions.js';
import type { IdentityService } from '../identities/identityService.js';
import type { AdminIdentity, AdminLookups, IdentityKey } from './adminLookups.js';
import type { ErasureReceipt, ErasureReceipts } from './erasureReceipts.js';

/** The admin operations the audit trail names. */
export type AdminOperation = 'lookup' | 'export' | 'revoke' | 'delete' | 'list' | 'receipt';

/** What became of an operator's deletion of a user. */
export type ErasureOutcome =
  | { outcome: 'not_found' }
  | { outcome: 'deleted' | 'queued'; receipt: ErasureReceipt };

export interface AdminDeletionCollaborators {
  lookups: AdminLookups;
  receipts: ErasureReceipts;
  deletions: IdentityDeletions;
  identities: IdentityService;
  audit: AuditTrail;
  hashUser: (user: Caller) => string;
}

export class AdminDeletion {
  constructor(private readonly use: AdminDeletionCollaborators) {}

  /** Writes an admin operation to the audit trail: by whom, and of which user when there is one. */
  record(requestedBy: string, operation: AdminOperation, user?: Caller, details: Record<string, unknown> = {}): void {
    this.use.audit.record('admin_operation', user && this.use.hashUser(user), { operation, by: requestedBy, ...details });
  }

  /** Revokes the user's ACS tokens; undefined when `key` names nobody. */
  async revoke(requestedBy: string, key: IdentityKey): Promise<AdminIdentity | undefined> {
    const identity = await this.use.lookups.find(key);
    if (!identity) return undefined;
    await this.use.identities.revokeTokens(identity.caller);
    this.record(requestedBy, 'revoke', identity.caller);
    return identity;
  }

  /**
   * Deletes the user's identity as DELETE /api/user does, with a receipt: `deleted` when ACS
   * confirmed at once, `queued` when it will be retried (the receipt is confirmed then).
   */
  async erase(requestedBy: string, key: IdentityKey, log?: Logger): Promise<ErasureOutcome> {
    const { lookups, receipts, deletions, hashUser } = this.use;
    const identity = await lookups.find(key);
    if (!identity) return { outcome: 'not_found' };
    const userHash = hashUser(identity.caller);
    // Opened first: ACS's confirmation, however soon, then finds it.
    const receipt = await receipts.open({ requestedBy, userHash, acsUserId: identity.acsUserId });
    let outcome;
    try {
      outcome = await deletions.deleteFor(identity.caller, log);
    } catch (error) {
      await receipts.withdraw(receipt.id).catch(() => undefined);
      throw error;
    }
    if (outcome === 'nothing_to_delete') {
      // Another request deleted the user meanwhile; its own record stands.
      await receipts.withdraw(receipt.id);
      return { outcome: 'not_found' };
    }
    this.record(requestedBy, 'delete', identity.caller, { receipt: receipt.id, queued: outcome === 'queued' });
    return { outcome, receipt: (await receipts.get(receipt.id)) ?? receipt };
  }
}
