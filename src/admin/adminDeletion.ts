// What an operator does to users, whichever way they ask (the admin API, the admin CLI, a
// tenant offboarding): revoke their ACS tokens, or delete them as DELETE /api/user does
// (IdentityDeletions: the mapping at once, the ACS identity now or queued), with an erasure
// receipt that records who asked and when ACS confirmed. The ACS calls are paced as
// administrators' work (AdminPacer), never spent from the user's own budget. Every operation
// is written to the audit trail under the user's keyed hash, with who asked.
import type pg from 'pg';
import { AcsError } from '../acs/acsErrors.js';
import type { AcsIdentityClient } from '../acs/acsIdentityClient.js';
import type { AuditTrail } from '../audit/auditTrail.js';
import type { Caller, EntraCaller } from '../auth/caller.js';
import type { IdentityStore } from '../db/identityStore.js';
import type { Logger } from '../identities/collaborators.js';
import type { DeletionSettings } from '../identities/deletionSettings.js';
import { deletionBackoffSeconds, IdentityDeletions, type DeletionOutcome } from '../identities/identityDeletions.js';
import { revokeTokensOf } from '../identities/identityService.js';
import { AdminLookups, type AdminIdentity, type IdentityKey } from './adminLookups.js';
import type { AdminPacer } from './adminPacing.js';
import { ErasureReceipts, type ErasureReceipt } from './erasureReceipts.js';

/** The admin operations the audit trail names (event admin_operation, detail `operation`). */
export type AdminOperation =
  | 'lookup' | 'export' | 'revoke' | 'delete' | 'list' | 'receipt'
  | 'offboard_started' | 'offboard_status' | 'offboard_completed';

/** Writes an admin operation to the audit trail: by whom, and of which user (keyed hash) when there is one. */
export function recordAdminOperation(audit: AuditTrail, operation: AdminOperation, by: string, userHash?: string, details: Record<string, unknown> = {}): void {
  audit.record('admin_operation', userHash, { operation, by, ...details });
}

/** Who asked (an operator application's client id, or the name given to the CLI), and for which offboarding. */
export interface DeletionRequest {
  requestedBy: string;
  offboardingId?: string;
}

/** What a tenant offboarding needs to delete its identities one by one. */
export interface AdminIdentityDeleter {
  /** Deletes the user's identity as DELETE /api/user does; 'queued': ACS failed, the deletion waits in the queue. */
  deleteUser(user: EntraCaller, request: DeletionRequest): Promise<DeletionOutcome>;
  /**
   * Retries the queued ACS deletion of `acsUserId` (its mapping already gone), if it is still
   * queued; throws the ACS error when the attempt failed.
   */
  finishQueued(acsUserId: string, request: DeletionRequest): Promise<void>;
}

/** What an operator's work is done with: the service's (plugins/admin.ts) or the CLI's own. */
export interface AdminCollaborators {
  pool: pg.Pool;
  store: IdentityStore;
  acs: AcsIdentityClient;
  audit: AuditTrail;
  hashUser: (user: Caller) => string;
  log: Logger;
  /** The administrators' pace: one per process. */
  pacer: AdminPacer;
  deletions: DeletionSettings;
  /** The ACS resource whose rows are acted on, and whether rows of unknown resource ('') count as its own. */
  scope: { resource: string; adoptUnknown: boolean };
}

/** The acs_resource values of this service's rows (as the identity store reads them). */
export const resourcesOf = (scope: AdminCollaborators['scope']) => (scope.adoptUnknown ? [scope.resource, ''] : [scope.resource]);

/** A failure's reason as a deletion records it. */
export const reasonOf = (error: unknown) => (error instanceof Error ? error.message : 'failed').slice(0, 500);

/** What became of an operator's deletion of a user. */
export type ErasureOutcome =
  | { outcome: 'not_found' }
  | { outcome: 'deleted' | 'queued'; receipt: ErasureReceipt };

export class AdminDeletion implements AdminIdentityDeleter {
  readonly lookups: AdminLookups;
  readonly receipts: ErasureReceipts;
  private readonly deletions: IdentityDeletions;
  /** A deletion left queued is reported by whoever asked (an answer, a CLI line, the job's failed count): not a warning each. */
  private readonly quietLog: Logger;

  constructor(private readonly use: AdminCollaborators) {
    const { log } = use;
    this.lookups = new AdminLookups(use.pool, resourcesOf(use.scope));
    this.receipts = new ErasureReceipts(use.pool, use.scope.resource);
    this.quietLog = { info: (details, message) => log.info(details, message), warn: (details, message) => log.info(details, message), error: (details, message) => log.error(details, message) };
    // The pacer stands where the user's budget stands for the user's own requests.
    this.deletions = new IdentityDeletions({ ...use, budget: use.pacer }, use.deletions);
  }

  /** Writes an admin operation to the audit trail: by whom, and of which user when there is one. */
  record(requestedBy: string, operation: AdminOperation, user?: Caller, details: Record<string, unknown> = {}): void {
    recordAdminOperation(this.use.audit, operation, requestedBy, user && this.use.hashUser(user), details);
  }

  /** Revokes the user's ACS tokens; undefined when `key` names nobody. Throws the ACS error when ACS failed. */
  async revoke(requestedBy: string, key: IdentityKey): Promise<AdminIdentity | undefined> {
    const identity = await this.lookups.find(key);
    if (!identity) return undefined;
    await revokeTokensOf({ ...this.use, budget: this.use.pacer }, identity.caller);
    this.record(requestedBy, 'revoke', identity.caller);
    return identity;
  }

  /**
   * Deletes the user's identity as DELETE /api/user does, with a receipt: `deleted` when ACS
   * confirmed at once, `queued` when it will be retried (the receipt is confirmed then).
   */
  async erase(request: DeletionRequest, key: IdentityKey, log: Logger = this.quietLog): Promise<ErasureOutcome> {
    const { receipts, lookups } = this;
    const identity = await lookups.find(key);
    if (!identity) return { outcome: 'not_found' };
    const userHash = this.use.hashUser(identity.caller);
    // Opened first: ACS's confirmation, however soon, then finds it.
    const receipt = await receipts.open({ requestedBy: request.requestedBy, userHash, acsUserId: identity.acsUserId });
    let outcome;
    try {
      outcome = await this.deletions.deleteFor(identity.caller, log);
    } catch (error) {
      await receipts.withdrawUnlessDetached(receipt.id).catch(() => undefined);
      throw error;
    }
    if (outcome === 'nothing_to_delete') {
      // Another request deleted the user meanwhile; its own record stands.
      await receipts.withdraw(receipt.id);
      return { outcome: 'not_found' };
    }
    const { offboardingId } = request;
    this.record(request.requestedBy, 'delete', identity.caller, { receipt: receipt.id, queued: outcome === 'queued', ...(offboardingId ? { offboardingId } : {}) });
    return { outcome, receipt: (await receipts.get(receipt.id)) ?? receipt };
  }

  async deleteUser(user: EntraCaller, request: DeletionRequest): Promise<DeletionOutcome> {
    const erased = await this.erase(request, { tenantId: user.tenantId, objectId: user.objectId });
    return erased.outcome === 'not_found' ? 'nothing_to_delete' : erased.outcome;
  }

  async finishQueued(acsUserId: string, { requestedBy, offboardingId }: DeletionRequest): Promise<void> {
    const { pool, store, acs, audit, pacer, scope } = this.use;
    const { rows } = await pool.query<{ attempts: number }>(
      'SELECT attempts FROM acs_identity_deletions WHERE acs_user_id = $1 AND acs_resource = ANY($2::text[])', [acsUserId, resourcesOf(scope)]);
    if (!rows[0]) return;
    await pacer.spend();
    try {
      await acs.deleteIdentity(acsUserId);
    } catch (error) {
      // Recorded on the queued deletion too, so that the service's retries wait as long.
      await store.deferDeletion(acsUserId, reasonOf(error), this.backoff(rows[0].attempts, error));
      throw error;
    }
    // Deleting the queued row confirms the erasure receipt (migrations/005_erasure_receipts.sql).
    await store.completeDeletion(acsUserId);
    audit.record('deletion_completed', undefined, { attempts: rows[0].attempts + 1, by: requestedBy, ...(offboardingId ? { offboardingId } : {}) });
  }

  backoff(attempts: number, error: unknown): number {
    return deletionBackoffSeconds(this.use.deletions.retryIntervalSeconds, attempts, error instanceof AcsError ? error.retryAfterSeconds : undefined);
  }
}
