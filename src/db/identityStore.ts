// The mapping user → ACS identity, and the queue of ACS identities still to be deleted.
// The database decides who creates a user's identity: concurrent first requests (on any
// replica) serialise on a transaction-level advisory lock keyed by the user, so only one of
// them calls ACS and the others read its result.
// Every row names the ACS resource it belongs to (acs_resource): the store reads and changes
// only its own resource's rows, and rows of before that column ('') when it adopts them.
import type pg from 'pg';
import type { Caller } from '../auth/caller.js';
import { callerColumns, creationLockKey } from './callerColumns.js';
import { classifyDatabaseError } from './databaseErrors.js';
import { IdentityLookups, type IdentityRow } from './identityLookups.js';
import { beginTransaction, type OpenTransaction } from './pool.js';

export interface StoredIdentity {
  acsUserId: string;
  createdAt: Date;
  /** When its ACS tokens were last revoked (null: never), on the database's clock. */
  tokensRevokedAt: Date | null;
  /** When it was read, on the database's clock (its transaction's start, so never later). */
  readAt: Date;
}

/** What `claimCreation` found; see there. */
export type CreationClaim =
  | { state: 'busy' }
  | { state: 'exists'; identity: StoredIdentity }
  | { state: 'foreign' }
  | {
    state: 'claimed';
    /** Stores the mapping and commits (ending the lock). */
    insert(acsUserId: string): Promise<StoredIdentity>;
    /** Rolls back (ending the lock); never throws. */
    abandon(): Promise<void>;
  };

export interface PendingDeletion {
  acsUserId: string;
  attempts: number;
}

const toIdentity = (row: IdentityRow): StoredIdentity => ({
  acsUserId: row.acs_user_id, createdAt: row.created_at, tokensRevokedAt: row.tokens_revoked_at, readAt: row.read_at,
});
const IDENTITY_COLUMNS = 'acs_user_id, created_at, tokens_revoked_at, now() AS read_at';

// Namespaces the advisory-lock keys of user creation (pg_advisory_xact_lock(int, int)).
const CREATE_LOCK_NAMESPACE = 7_310;

/** Whose rows a store acts on: its ACS resource's, and the unknown ('') ones if it adopts them. */
export interface ResourceScope {
  resource: string;
  /** A configured service adopts rows of before acs_resource; local mode never does. */
  adoptUnknown: boolean;
}

export class IdentityStore {
  private readonly lookups: IdentityLookups;
  private readonly resource: string;
  /** The acs_resource values of this store's rows ($n::text[] in every statement). */
  private readonly resources: string[];

  /** `onPreparingOff`: see IdentityLookups (a pooler that drops prepared statements). */
  constructor(private readonly pool: pg.Pool, scope: ResourceScope, onPreparingOff?: (error: unknown) => void) {
    this.resource = scope.resource;
    this.resources = scope.adoptUnknown ? [scope.resource, ''] : [scope.resource];
    this.lookups = new IdentityLookups(pool, this.resources, onPreparingOff);
  }

  async find(user: Caller): Promise<StoredIdentity | undefined> {
    try {
      const row = await this.lookups.find(user);
      return row && toIdentity(row);
    } catch (error) {
      return classifyDatabaseError(error);
    }
  }

  /**
   * Begins a user's creation: takes the user's advisory lock for the length of a transaction
   * (released at its end, even when this process dies), so only one request at a time, on any
   * replica, creates the user's identity. "busy": another request holds it; "exists" and
   * "foreign": the mapping is there already (of this store's resource, or of another one; the
   * transaction has ended); "claimed": the caller holds the lock and ends the transaction with
   * `insert` or `abandon`.
   */
  async claimCreation(user: Caller): Promise<CreationClaim> {
    try {
      const transaction = await beginTransaction(this.pool);
      const lock = await transaction.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked',
        [CREATE_LOCK_NAMESPACE, creationLockKey(user)],
      );
      if (!lock.rows[0]!.locked) {
        await transaction.rollback();
        return { state: 'busy' };
      }
      const { rows } = await transaction.query<IdentityRow & { acs_resource: string }>(
        `SELECT ${IDENTITY_COLUMNS}, acs_resource FROM acs_identities WHERE tenant_id = $1 AND object_id = $2`,
        callerColumns(user),
      );
      if (rows[0]) {
        await transaction.commit();
        // The user key is unique in the database: a mapping of another resource is never replaced.
        return this.resources.includes(rows[0].acs_resource) ? { state: 'exists', identity: toIdentity(rows[0]) } : { state: 'foreign' };
      }
      return { state: 'claimed', insert: (acsUserId) => this.insertClaimed(transaction, user, acsUserId), abandon: () => transaction.rollback() };
    } catch (error) {
      return classifyDatabaseError(error);
    }
  }

  private async insertClaimed(transaction: OpenTransaction, user: Caller, acsUserId: string): Promise<StoredIdentity> {
    try {
      const { rows } = await transaction.query<IdentityRow>(
        `INSERT INTO acs_identities (tenant_id, object_id, acs_user_id, acs_resource) VALUES ($1, $2, $3, $4) RETURNING ${IDENTITY_COLUMNS}`,
        [...callerColumns(user), acsUserId, this.resource],
      );
      await transaction.commit();
      return toIdentity(rows[0]!);
    } catch (error) {
      return classifyDatabaseError(error);
    }
  }

  /** How many mappings and queued deletions each other ACS resource has here (none: empty). */
  async otherResources(): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<{ resource: string; n: number }>(
      `SELECT acs_resource AS resource, count(*)::int AS n
         FROM (SELECT acs_resource FROM acs_identities UNION ALL SELECT acs_resource FROM acs_identity_deletions) r
        WHERE NOT (acs_resource = ANY($1::text[])) GROUP BY acs_resource`, [this.resources]);
    return Object.fromEntries(rows.map((row) => [row.resource, row.n]));
  }

  /** Whether the ACS identity is mapped (false also when the database cannot say). */
  async isMapped(acsUserId: string): Promise<boolean> {
    try {
      const { rowCount } = await this.pool.query('SELECT 1 FROM acs_identities WHERE acs_user_id = $1 AND acs_resource = ANY($2::text[])', [acsUserId, this.resources]);
      return rowCount === 1;
    } catch {
      return false;
    }
  }

  /** Records that the user's ACS tokens were revoked now (no replica reuses older ones). */
  async markTokensRevoked(user: Caller): Promise<void> {
    try {
      await this.pool.query('UPDATE acs_identities SET tokens_revoked_at = now() WHERE tenant_id = $1 AND object_id = $2 AND acs_resource = ANY($3::text[])',
        [...callerColumns(user), this.resources]);
    } catch (error) {
      classifyDatabaseError(error);
    }
  }

  /**
   * Removes the user's mapping and, in the same transaction, queues its ACS identity for
   * deletion. From then on the user gets a new identity; the old one cannot be forgotten.
   * The caller tries the deletion at once; background retries start after `leaseSeconds`.
   */
  async detachForDeletion(user: Caller, leaseSeconds: number): Promise<string | undefined> {
    try {
      const { rows } = await this.pool.query<{ acs_user_id: string }>(
        `WITH detached AS (
           DELETE FROM acs_identities WHERE tenant_id = $1 AND object_id = $2 AND acs_resource = ANY($4::text[])
           RETURNING acs_user_id, acs_resource
         )
         INSERT INTO acs_identity_deletions (acs_user_id, acs_resource, next_attempt_at)
         SELECT acs_user_id, acs_resource, now() + make_interval(secs => $3) FROM detached
         ON CONFLICT (acs_user_id) DO NOTHING
         RETURNING acs_user_id`,
        [...callerColumns(user), leaseSeconds, this.resources],
      );
      return rows[0]?.acs_user_id;
    } catch (error) {
      return classifyDatabaseError(error);
    }
  }

  /**
   * Records an ACS identity that must be deleted (one the service created but could not store)
   * after a first attempt failed; the next one is due after `retryAfterSeconds`.
   */
  async queueDeletion(acsUserId: string, reason: string, retryAfterSeconds: number): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO acs_identity_deletions (acs_user_id, acs_resource, attempts, last_error, next_attempt_at)
         VALUES ($1, $2, 1, $3, now() + make_interval(secs => $4)) ON CONFLICT DO NOTHING`,
        [acsUserId, this.resource, reason.slice(0, 500), retryAfterSeconds]);
    } catch (error) {
      classifyDatabaseError(error);
    }
  }

  /** ACS confirmed the deletion (or no longer knows the identity): forget it. */
  async completeDeletion(acsUserId: string): Promise<void> {
    try {
      await this.pool.query('DELETE FROM acs_identity_deletions WHERE acs_user_id = $1 AND acs_resource = ANY($2::text[])', [acsUserId, this.resources]);
    } catch (error) {
      classifyDatabaseError(error);
    }
  }

  /** Records a failed attempt; the next one is due after `retryAfterSeconds`. */
  async deferDeletion(acsUserId: string, reason: string, retryAfterSeconds: number): Promise<void> {
    try {
      await this.pool.query(
        `UPDATE acs_identity_deletions
            SET attempts = attempts + 1, last_error = $2, next_attempt_at = now() + make_interval(secs => $3)
          WHERE acs_user_id = $1 AND acs_resource = ANY($4::text[])`,
        [acsUserId, reason.slice(0, 500), retryAfterSeconds, this.resources],
      );
    } catch (error) {
      classifyDatabaseError(error);
    }
  }

  /**
   * Claims the deletion that is due soonest, if any, pushing its next attempt `leaseSeconds`
   * ahead so that no other replica takes it meanwhile.
   */
  async claimDueDeletion(leaseSeconds: number): Promise<PendingDeletion | undefined> {
    try {
      const { rows } = await this.pool.query<{ acs_user_id: string; attempts: number }>(
        `UPDATE acs_identity_deletions SET next_attempt_at = now() + make_interval(secs => $1)
          WHERE acs_user_id = (
            SELECT acs_user_id FROM acs_identity_deletions
             WHERE next_attempt_at <= now() AND acs_resource = ANY($2::text[])
             ORDER BY next_attempt_at
             LIMIT 1
             FOR UPDATE SKIP LOCKED)
          RETURNING acs_user_id, attempts`,
        [leaseSeconds, this.resources],
      );
      return rows[0] && { acsUserId: rows[0].acs_user_id, attempts: rows[0].attempts };
    } catch (error) {
      return classifyDatabaseError(error);
    }
  }
}
