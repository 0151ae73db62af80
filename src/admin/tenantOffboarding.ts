// Tenant offboarding: every identity of a tenant deleted by an administrator. Each identity goes
// the way the admin API deletes one (AdminDeletion: as DELETE /api/user, with an erasure receipt
// naming the job's requester, paced by the administrators' own limiter rather than the user's
// budget; a failed ACS call leaves it queued). An offboarding is a job in the
// database: its identities are listed as items, claimed in batches under a lease (FOR UPDATE
// SKIP LOCKED), and each batch's progress is committed, so a worker that dies loses at most its
// batch's lease. One worker runs a job at a time (the job's own lease, migrations/007). Starting a tenant's offboarding again
// returns the job under way.
import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import { AcsError, isTransient } from '../acs/acsErrors.js';
import { entraCaller, type Caller } from '../auth/caller.js';
import { classifyDatabaseError } from '../db/databaseErrors.js';
import { withTransaction } from '../db/pool.js';
import { deletionBackoffSeconds } from '../identities/identityDeletions.js';
import { GUID } from '../shared/guid.js';
import { reasonOf, recordAdminOperation, resourcesOf, type AdminCollaborators, type AdminIdentityDeleter } from './adminDeletion.js';

/** Identities one claim takes; their progress is committed together. */
const BATCH_SIZE = 50;
/** Identities of a batch deleted at once (the pacer sets the rate; this hides round trips). */
const CONCURRENCY = 8;
/** Longest wait between two looks at a job whose identities all wait for a retry. */
const MAX_IDLE_WAIT_MS = 1000;

/** Waits `ms`, or less if `signal` aborts. */
const pause = (ms: number, signal: AbortSignal | undefined) => delay(ms, undefined, { signal }).catch(() => undefined);

/** An Entra tenant or object id as the database stores it (lower case), or undefined if it is none. */
export function entraId(value: string): string | undefined {
  return GUID.test(value) ? value.toLowerCase() : undefined;
}

/** The keyed hash that stands for a user in the audit trail (as the audit plugin makes it). */
export function userHasher(hashKey: string): (user: Caller) => string {
  return (user) => createHmac('sha256', hashKey).update(user.userKey).digest('base64url');
}

export type OffboardingState = 'running' | 'completed';

export interface OffboardingStatus {
  id: string;
  tenantId: string;
  state: OffboardingState;
  requestedBy: string;
  /** Identities listed for deletion so far (those created while it runs are added). */
  total: number;
  deleted: number;
  /** Identities whose last attempt failed, waiting for a retry. */
  failed: number;
  /** The last failure's reason, if any. */
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
  /** What the operator is to do next. */
  message: string;
}

interface JobRow {
  id: string;
  tenant_id: string;
  state: OffboardingState;
  requested_by: string;
  total: number;
  deleted: number;
  failed: number;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

interface Item {
  objectId: string;
  acsUserId: string;
  attempts: number;
}

type ItemResult = { objectId: string; done: true } | { objectId: string; done: false; error: string; retryAfterSeconds: number };

const JOB_COLUMNS = 'id, tenant_id, state, requested_by, total, deleted, failed, last_error, created_at, updated_at, completed_at';

function messageOf(row: JobRow): string {
  if (row.state === 'completed') {
    return `Tenant ${row.tenant_id} is offboarded: ${row.deleted} identities deleted. Now remove ${row.tenant_id} from AUTH_ALLOWED_TENANTS `
      + '(or AZURE_TENANT_ID) and restart the service, or its users get new identities when they sign in again.';
  }
  const waiting = row.failed > 0 ? `; ${row.failed} failed and wait for a retry${row.last_error ? ` (last error: ${row.last_error})` : ''}` : '';
  return `Offboarding tenant ${row.tenant_id}: ${row.deleted} of ${row.total} identities deleted${waiting}.`;
}

const toStatus = (row: JobRow): OffboardingStatus => ({
  id: row.id, tenantId: row.tenant_id, state: row.state, requestedBy: row.requested_by, total: row.total, deleted: row.deleted,
  failed: row.failed, lastError: row.last_error, createdAt: row.created_at, updatedAt: row.updated_at, completedAt: row.completed_at,
  message: messageOf(row),
});

export interface RunOptions {
  /** Stops after the batch under way (its progress committed). */
  signal?: AbortSignal;
  /** Told the job's status after each committed batch. */
  onProgress?: (status: OffboardingStatus) => void;
  /** Told when another worker holds the job: this one waits until it completes it or its lease lapses. */
  onWaiting?: (status: OffboardingStatus) => void;
}

/** Tenant offboardings: start (or find) a tenant's job, run it, read its status. */
export class TenantOffboardings {
  private readonly resources: string[];

  constructor(private readonly use: AdminCollaborators, private readonly deleter: AdminIdentityDeleter, private readonly batchSize = BATCH_SIZE) {
    this.resources = resourcesOf(use.scope);
  }

  /**
   * The tenant's offboarding: the one under way; else the last one if the tenant has no
   * identity left; else a new one, its identities listed. `created` says which.
   */
  async start(tenantId: string, requestedBy: string): Promise<{ job: OffboardingStatus; created: boolean }> {
    const { resource } = this.use.scope;
    // The service's answer to the database failing is a 503 (DatabaseUnavailableError).
    return withTransaction(this.use.pool, async (client) => {
      const open = await client.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM tenant_offboardings WHERE tenant_id = $1 AND acs_resource = $2 AND state = 'running'`, [tenantId, resource]);
      if (open.rows[0]) return { job: toStatus(open.rows[0]), created: false };
      const left = await client.query('SELECT 1 FROM acs_identities WHERE tenant_id = $1 AND acs_resource = ANY($2::text[]) LIMIT 1', [tenantId, this.resources]);
      if (left.rowCount === 0) {
        const last = await client.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM tenant_offboardings WHERE tenant_id = $1 AND acs_resource = $2 ORDER BY created_at DESC LIMIT 1`, [tenantId, resource]);
        if (last.rows[0]) return { job: toStatus(last.rows[0]), created: false };
      }
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO tenant_offboardings (id, tenant_id, acs_resource, requested_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, acs_resource) WHERE state = 'running' DO NOTHING RETURNING id`, [randomUUID(), tenantId, resource, requestedBy]);
      const id = inserted.rows[0]?.id;
      if (!id) {
        // Another start won the race (the unique index waited for it to commit).
        const raced = await client.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM tenant_offboardings WHERE tenant_id = $1 AND acs_resource = $2 AND state = 'running'`, [tenantId, resource]);
        return { job: toStatus(raced.rows[0]!), created: false };
      }
      await this.listIdentities(client, id, tenantId);
      recordAdminOperation(this.use.audit, 'offboard_started', requestedBy, undefined, { offboardingId: id, tenantId });
      const { rows } = await client.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM tenant_offboardings WHERE id = $1`, [id]);
      return { job: toStatus(rows[0]!), created: true };
    }).catch(classifyDatabaseError);
  }

  /** The job's status, or undefined if there is no such job. */
  async status(id: string): Promise<OffboardingStatus | undefined> {
    if (!GUID.test(id)) return undefined;
    const { rows } = await this.use.pool.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM tenant_offboardings WHERE id = $1`, [id]).catch(classifyDatabaseError);
    return rows[0] && toStatus(rows[0]);
  }

  /** The jobs under way, then the latest others (of a tenant, if given), newest first. */
  async list(tenantId?: string, limit = 20): Promise<OffboardingStatus[]> {
    const { rows } = await this.use.pool.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM tenant_offboardings WHERE acs_resource = $1 AND ($2::text IS NULL OR tenant_id = $2)
        ORDER BY state = 'running' DESC, created_at DESC LIMIT $3`, [this.use.scope.resource, tenantId ?? null, limit]);
    return rows.map(toStatus);
  }

  /** The ids of the jobs under way (a replica that starts resumes them). */
  async running(): Promise<string[]> {
    const { rows } = await this.use.pool.query<{ id: string }>("SELECT id FROM tenant_offboardings WHERE acs_resource = $1 AND state = 'running'", [this.use.scope.resource]);
    return rows.map((row) => row.id);
  }

  /**
   * Works on the job until it is completed (or `signal` stops it): batch after batch of due
   * identities, waiting for those that failed to be due again. One worker at a time, whichever
   * process runs it: the job's lease (renewed each round) keeps others waiting, so that the
   * job's ACS calls keep one process's pace; a worker that dies is replaced when it lapses.
   */
  async run(id: string, { signal, onProgress, onWaiting }: RunOptions = {}): Promise<OffboardingStatus> {
    let job = await this.status(id);
    if (!job) throw new Error(`no offboarding ${id}`);
    const worker = randomUUID();
    let waiting = false;
    try {
      while (job.state === 'running' && !signal?.aborted) {
        if (!(await this.holdJob(id, worker))) {
          if (!waiting) onWaiting?.(job);
          waiting = true;
          await pause(MAX_IDLE_WAIT_MS, signal);
          job = (await this.status(id))!;
          continue;
        }
        waiting = false;
        const batch = await this.claim(id);
        if (batch.length > 0) {
          const results = await this.withHeartbeat(id, worker, () => this.deleteBatch(job!, batch, signal));
          await this.commit(id, worker, batch, results);
          await this.use.audit.flush();
          job = (await this.status(id))!;
          onProgress?.(job);
          continue;
        }
        const waitMs = await this.nextDueInMs(id);
        if (waitMs !== undefined) {
          await pause(Math.min(MAX_IDLE_WAIT_MS, Math.max(10, waitMs)), signal);
          continue;
        }
        job = await this.topUpOrComplete(job);
        if (job.state === 'completed') {
          await this.use.audit.flush();
          onProgress?.(job);
        }
      }
    } finally {
      // Released at once: a worker stopped on purpose leaves the job to the next without a wait.
      await this.use.pool.query('UPDATE tenant_offboardings SET worker_id = NULL, worker_lease_until = NULL WHERE id = $1 AND worker_id = $2', [id, worker])
        .catch((error: unknown) => this.use.log.warn({ err: error }, 'tenant offboarding: releasing the job failed (its lease lapses)'));
    }
    return job;
  }

  /** Takes or renews the job's lease for `worker`; false when another worker holds it, or the job is over. */
  private async holdJob(id: string, worker: string): Promise<boolean> {
    // Two rounds' bound: a round is at most one batch.
    const { rowCount } = await this.use.pool.query(
      `UPDATE tenant_offboardings SET worker_id = $2, worker_lease_until = now() + make_interval(secs => $3)
        WHERE id = $1 AND state = 'running' AND (worker_id = $2 OR worker_lease_until IS NULL OR worker_lease_until < now())`,
      [id, worker, 2 * this.leaseSeconds()]);
    return (rowCount ?? 0) > 0;
  }

  /**
   * Runs `work` (a batch) renewing the job's lease meanwhile: a batch slower than its lease (a
   * pacer shared with other admin work, a slow ACS) must not let another worker take over.
   */
  private async withHeartbeat<T>(id: string, worker: string, work: () => Promise<T>): Promise<T> {
    const renew = () => {
      this.holdJob(id, worker).then((held) => {
        if (!held) this.use.log.warn({}, 'tenant offboarding: the job was taken over during a batch (its results are not committed)');
      }, (error: unknown) => this.use.log.warn({ err: error }, 'tenant offboarding: renewing the job\'s lease failed'));
    };
    // Four renewals per lease (the job's lease is twice leaseSeconds()).
    const heartbeat = setInterval(renew, Math.max(100, this.leaseSeconds() * 500));
    try {
      return await work();
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** How long a batch's claim holds its items: one batch's calls at the pace, and a whole ACS call's bound for the slowest. */
  private leaseSeconds(): number {
    return this.use.deletions.leaseSeconds + Math.ceil(this.use.pacer.secondsFor(this.batchSize));
  }

  /** Lists the tenant's mappings as items: new ones, and those re-created since their item was deleted. */
  private async listIdentities(client: pg.ClientBase, id: string, tenantId: string): Promise<number> {
    const { rowCount } = await client.query(
      `INSERT INTO tenant_offboarding_items (job_id, object_id, acs_user_id)
       SELECT $1, object_id, acs_user_id FROM acs_identities WHERE tenant_id = $2 AND acs_resource = ANY($3::text[])
       ON CONFLICT (job_id, object_id) DO UPDATE SET acs_user_id = EXCLUDED.acs_user_id, state = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL
         WHERE tenant_offboarding_items.acs_user_id <> EXCLUDED.acs_user_id`, [id, tenantId, this.resources]);
    await client.query('UPDATE tenant_offboardings SET total = (SELECT count(*) FROM tenant_offboarding_items WHERE job_id = $1), updated_at = now() WHERE id = $1', [id]);
    return rowCount ?? 0;
  }

  /** Claims due items, pushing them a lease ahead: a worker that dies holds them no longer. */
  private async claim(id: string): Promise<Item[]> {
    const leaseSeconds = this.leaseSeconds();
    const { rows } = await this.use.pool.query<{ object_id: string; acs_user_id: string; attempts: number }>(
      `UPDATE tenant_offboarding_items SET next_attempt_at = now() + make_interval(secs => $3)
        WHERE job_id = $1 AND object_id IN (
          SELECT object_id FROM tenant_offboarding_items
           WHERE job_id = $1 AND state = 'pending' AND next_attempt_at <= now()
           ORDER BY next_attempt_at LIMIT $2
           FOR UPDATE SKIP LOCKED)
        RETURNING object_id, acs_user_id, attempts`, [id, this.batchSize, leaseSeconds]);
    return rows.map((row) => ({ objectId: row.object_id, acsUserId: row.acs_user_id, attempts: row.attempts }));
  }

  private async deleteBatch(job: OffboardingStatus, batch: Item[], signal: AbortSignal | undefined): Promise<ItemResult[]> {
    const results: ItemResult[] = [];
    let next = 0;
    const worker = async () => {
      while (next < batch.length && !signal?.aborted) {
        const item = batch[next++]!;
        results.push(await this.deleteItem(job, item));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, batch.length) }, worker));
    return results;
  }

  private async deleteItem(job: OffboardingStatus, item: Item): Promise<ItemResult> {
    const request = { requestedBy: job.requestedBy, offboardingId: job.id };
    try {
      const outcome = await this.deleter.deleteUser(entraCaller(job.tenantId, item.objectId), request);
      if (outcome === 'queued') throw new AcsError('unavailable', 'deleteIdentity', undefined, undefined, new Error('ACS deletion queued'));
      // Already detached (by an earlier attempt): its queued ACS deletion, if any, is retried here.
      if (outcome === 'nothing_to_delete') await this.deleter.finishQueued(item.acsUserId, request);
      return { objectId: item.objectId, done: true };
    } catch (error) {
      // A bug or the database: logged, and retried like an ACS failure.
      if (!(error instanceof AcsError)) this.use.log.error({ err: error }, 'tenant offboarding: deleting an identity failed');
      else if (!isTransient(error)) this.use.log.error({ kind: error.kind }, 'tenant offboarding: ACS refused a deletion');
      const retryAfter = error instanceof AcsError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds : undefined;
      return {
        objectId: item.objectId, done: false, error: reasonOf(error),
        retryAfterSeconds: deletionBackoffSeconds(this.use.deletions.retryIntervalSeconds, item.attempts, retryAfter),
      };
    }
  }

  /** Records a batch's outcomes and the job's counts in one transaction. Items not tried are due again at once. */
  private async commit(id: string, worker: string, batch: Item[], results: ItemResult[]): Promise<void> {
    const done = results.filter((r) => r.done).map((r) => r.objectId);
    const failed = results.filter((r): r is Extract<ItemResult, { done: false }> => !r.done);
    const tried = new Set(results.map((r) => r.objectId));
    const untried = batch.filter((item) => !tried.has(item.objectId)).map((item) => item.objectId);
    await withTransaction(this.use.pool, async (client) => {
      // Another worker took the job over: it owns the items now (it finds those deleted here
      // already gone, and finishes them).
      const { rows: [owner] } = await client.query<{ worker_id: string | null }>('SELECT worker_id FROM tenant_offboardings WHERE id = $1 FOR UPDATE', [id]);
      if (owner?.worker_id !== worker) {
        this.use.log.warn({}, 'tenant offboarding: another worker holds the job; this batch is not committed');
        return;
      }
      if (done.length > 0) {
        await client.query("UPDATE tenant_offboarding_items SET state = 'deleted', last_error = NULL WHERE job_id = $1 AND object_id = ANY($2::text[])", [id, done]);
      }
      if (failed.length > 0) {
        await client.query(
          `UPDATE tenant_offboarding_items i SET attempts = i.attempts + 1, last_error = f.error, next_attempt_at = now() + make_interval(secs => f.seconds)
             FROM unnest($2::text[], $3::text[], $4::float8[]) AS f(object_id, error, seconds)
            WHERE i.job_id = $1 AND i.object_id = f.object_id`,
          [id, failed.map((f) => f.objectId), failed.map((f) => f.error), failed.map((f) => f.retryAfterSeconds)]);
      }
      if (untried.length > 0) {
        await client.query('UPDATE tenant_offboarding_items SET next_attempt_at = now() WHERE job_id = $1 AND object_id = ANY($2::text[])', [id, untried]);
      }
      await client.query(
        `UPDATE tenant_offboardings SET
           deleted = (SELECT count(*) FROM tenant_offboarding_items WHERE job_id = $1 AND state = 'deleted'),
           failed = (SELECT count(*) FROM tenant_offboarding_items WHERE job_id = $1 AND state = 'pending' AND attempts > 0),
           last_error = COALESCE($2, last_error), updated_at = now()
         WHERE id = $1`, [id, failed.at(-1)?.error ?? null]);
    });
  }

  /** Milliseconds until the job's next pending item is due (0: due now), or undefined if none is pending. */
  private async nextDueInMs(id: string): Promise<number | undefined> {
    const { rows } = await this.use.pool.query<{ ms: number | null }>(
      "SELECT (extract(epoch FROM min(next_attempt_at) - now()) * 1000)::float8 AS ms FROM tenant_offboarding_items WHERE job_id = $1 AND state = 'pending'", [id]);
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? undefined : Math.max(0, ms);
  }

  /** Nothing pending: lists identities created meanwhile, or, if there are none, completes the job. */
  private async topUpOrComplete(job: OffboardingStatus): Promise<OffboardingStatus> {
    await withTransaction(this.use.pool, async (client) => {
      // One worker at a time decides; the others find it decided.
      await client.query('SELECT 1 FROM tenant_offboardings WHERE id = $1 FOR UPDATE', [job.id]);
      if (await this.listIdentities(client, job.id, job.tenantId) > 0) return;
      const { rowCount } = await client.query(
        `UPDATE tenant_offboardings SET state = 'completed', completed_at = now(), updated_at = now(), failed = 0
          WHERE id = $1 AND state = 'running' AND NOT EXISTS (SELECT 1 FROM tenant_offboarding_items WHERE job_id = $1 AND state = 'pending')`, [job.id]);
      if (!rowCount) return;
      // Done: its items (whom it deleted, in clear) go; the job keeps its counts and who asked.
      await client.query('DELETE FROM tenant_offboarding_items WHERE job_id = $1', [job.id]);
      recordAdminOperation(this.use.audit, 'offboard_completed', job.requestedBy, undefined, { offboardingId: job.id, tenantId: job.tenantId, deleted: job.deleted });
    });
    return (await this.status(job.id))!;
  }
}
