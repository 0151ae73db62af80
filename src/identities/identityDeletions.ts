// Deleting users' ACS identities: at once when the user asks, or, when ACS cannot now, queued
// and retried later by any replica. A claim on a queued deletion is a lease in the database, so
// two replicas do not work on the same one, and a replica that dies mid-way loses nothing.
// Every failed attempt (the user's, a retry's, the clean-up of a failed creation) waits by the
// same rule.
import { AcsError, isTransient } from '../acs/acsErrors.js';
import type { Caller } from '../auth/caller.js';
import { inSpan, type StepSpan } from '../telemetry/hooks.js';
import type { IdentityCollaborators, Logger } from './collaborators.js';
import type { DeletionSettings } from './deletionSettings.js';

const MAX_BACKOFF_SECONDS = 3600;

/**
 * Seconds until the next attempt at a deletion that has just failed after `attempts` earlier
 * failures: the retry interval, doubling with each failure up to an hour, and never sooner than
 * ACS asked (Retry-After).
 */
export function deletionBackoffSeconds(intervalSeconds: number, attempts: number, retryAfterSeconds: number | undefined): number {
  return Math.max(Math.min(MAX_BACKOFF_SECONDS, intervalSeconds * 2 ** Math.min(attempts, 12)), retryAfterSeconds ?? 0);
}

/** What became of a user's request to delete their identity. */
export type DeletionOutcome = 'nothing_to_delete' | 'deleted' | 'queued';

/** What a failed attempt records as the deletion's last error. */
const reasonOf = (error: unknown) => (error instanceof Error ? error.message : 'failed');

type Collaborators = Pick<IdentityCollaborators, 'store' | 'acs' | 'budget' | 'audit' | 'hashUser' | 'log'>;

export class IdentityDeletions {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly use: Collaborators, private readonly settings: DeletionSettings) {}

  private backoff(attempts: number, error: unknown): number {
    return deletionBackoffSeconds(this.settings.retryIntervalSeconds, attempts, error instanceof AcsError ? error.retryAfterSeconds : undefined);
  }

  /**
   * Deletes the caller's identity: the mapping goes at once, ACS's identity now or later.
   * `log` is the request's logger, so that a queued deletion names the request that asked.
   */
  async deleteFor(caller: Caller, log: Logger = this.use.log): Promise<DeletionOutcome> {
    const { store, acs, budget, audit, hashUser } = this.use;
    // Counted against the user's ACS-call budget before anything changes; not when there is
    // nothing to delete.
    if (!(await store.find(caller))) return 'nothing_to_delete';
    await budget.spend(caller, 'deleteIdentity');
    // The mapping goes and the deletion is recorded in one transaction; then ACS is asked.
    const acsUserId = await store.detachForDeletion(caller, this.settings.leaseSeconds);
    if (!acsUserId) return 'nothing_to_delete';
    const userHash = hashUser(caller);
    try {
      await acs.deleteIdentity(acsUserId);
    } catch (error) {
      if (!(error instanceof AcsError)) throw error;
      await store.deferDeletion(acsUserId, error.message, this.backoff(0, error));
      log.warn({ kind: error.kind }, 'ACS identity deletion queued for retry');
      audit.record('deletion_requested', userHash, { queued: true });
      return 'queued';
    }
    await store.completeDeletion(acsUserId);
    audit.record('deletion_requested', userHash, { queued: false });
    audit.record('deletion_completed', userHash, { attempts: 1 });
    return 'deleted';
  }

  /** An identity ACS created that could not be stored must not stay alive unrecorded. */
  async discard(acsUserId: string): Promise<void> {
    const { store, acs, log } = this.use;
    try {
      await acs.deleteIdentity(acsUserId);
    } catch (error) {
      await store.queueDeletion(acsUserId, reasonOf(error), this.backoff(0, error)).catch((queueError: unknown) => {
        log.error({ err: queueError }, 'an ACS identity was created but neither stored nor deleted');
      });
    }
  }

  /** One pass over the queued deletions that are due (at most a batch). */
  async retryDue(): Promise<void> {
    const { store } = this.use;
    for (let tried = 0; tried < this.settings.batchSize; tried++) {
      const due = await store.claimDueDeletion(this.settings.leaseSeconds);
      if (!due) return;
      const { acsUserId, attempts } = due;
      await inSpan('identity deletion retry', { 'acs.deletion.attempt': attempts + 1 }, (span) => this.retryOne(acsUserId, attempts, span), { startsTrace: true });
    }
  }

  /** One more attempt at a queued deletion; a failure defers it again. */
  private async retryOne(acsUserId: string, attempts: number, span: StepSpan): Promise<void> {
    const { store, acs, audit, log } = this.use;
    try {
      await acs.deleteIdentity(acsUserId);
      await store.completeDeletion(acsUserId);
      // Whose it was is no longer known here (the mapping went with the request): no user.
      audit.record('deletion_completed', undefined, { attempts: attempts + 1 });
      log.info({ attempts: attempts + 1 }, 'queued ACS identity deletion completed');
      span.setAttributes({ 'acs.deletion.outcome': 'deleted' });
    } catch (error) {
      const retryAfter = this.backoff(attempts, error);
      await store.deferDeletion(acsUserId, reasonOf(error), retryAfter);
      // Throttling and outages pass; a refusal (wrong key, foreign identity) needs an operator.
      const transient = error instanceof AcsError && isTransient(error);
      log[transient ? 'warn' : 'error']({ attempts: attempts + 1, retryAfter, err: error }, 'queued ACS identity deletion failed again');
      span.setAttributes({ 'acs.deletion.outcome': 'deferred', 'error.type': error instanceof AcsError ? error.kind : 'error' });
    }
  }

  /** Runs a retry pass every retry interval (none while one is still running). */
  startRetries(onPassFailed: (error: unknown) => void): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.retryDue()
        .catch(onPassFailed)
        .finally(() => { this.running = undefined; });
    }, this.settings.retryIntervalSeconds * 1000);
    this.timer.unref();
  }

  /** Stops the timer and waits for a pass under way. */
  async stopRetries(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
