// The mapping user → ACS identity, and the queue of ACS identities still to be deleted.
// The database decides who creates a user's identity: concurrent first requests (on any
// replica) serialise on a transaction-level advisory lock keyed by the user, so only one of
// them calls ACS and the others read its result.
// Every row names the ACS resource it belongs to (acs_resource): the store reads and changes
// only its own resource's rows, and rows of before that column ('') when it adopts them.
import type pg from 'pg';
import type { Caller } from '../auth/caller.js';
import { AcsError } from '../acs/acsErrors.js';
import { callerColumns, creationLockKey } from './callerColumns.js';
import { classifyDatabaseError } from './databaseErrors.js';
import { IdentityLookups, type IdentityRow } from './identityLookups.js';
import { withTransaction } from './pool.js';

export interface StoredIdentity {
  acsUserId: string;
  createdAt: Date;
  /** When its ACS tokens were last revoked (null: never), on the database's clock. */
  tokensRevokedAt: Date | null;
  /** When it was read, on the database's clock (its transaction's start, so never later). */
  readAt: Date;
}

/** Another request is still creating this user's identity (its ACS call is slow). */
export class IdentityCreationPendingError extends Error {
  constructor() {
    super("Another request is creating this user's ACS identity");
    this.name = 'IdentityCreationPendingError';
  }
}

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
   * For a user that `find` found without an identity: creates it with `create`, unless another
   * request did meanwhile. `create` runs at most once per user at a time, across all replicas.
   * A request that finds the user's creation under way does not hold a connection while it
   * waits: it polls `find` for up to `waitMs`. When storing fails after `create` succeeded,
   * `discard` gets the new ACS id so that it is not left behind.
   */
  async createIfAbsent<T extends { acsUserId: string }>(
    user: Caller,
    create: () => Promise<T>,
    discard: (acsUserId: string) => Promise<void>,
    waitMs: number,
  ): Promise<{ identity: StoredIdentity; created?: T }> {
    const deadline = Date.now() + waitMs;
    for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
      const result = await this.tryCreate(user, create, discard);
      if (result) return result;
      if (Date.now() + pause > deadline) throw new IdentityCreationPendingError();
      await new Promise((resolve) => setTimeout(resolve, pause));
      const identity = await this.find(user);
      if (identity) return { identity };
    }
  }

  /** One attempt: undefined when another request holds the user's creation lock. */
  private async tryCreate<T extends { acsUserId: string }>(
    user: Caller,
    create: () => Promise<T>,
    discard: (acsUserId: string) => Promise<void>,
  ): Promise<{ identity: StoredIdentity; created?: T } | undefined> {
    let created: T | undefined;
    try {
      return await withTransaction(this.pool, async (client) => {
        const lock = await client.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked',
          [CREATE_LOCK_NAMESPACE, creationLockKey(user)],
        );
        if (!lock.rows[0]!.locked) return undefined;
        const { rows } = await client.query<IdentityRow & { acs_resource: string }>(
          `SELECT ${IDENTITY_COLUMNS}, acs_resource FROM acs_identities WHERE tenant_id = $1 AND object_id = $2`,
          callerColumns(user),
        );
        // The user key is unique in the database: a mapping of another resource is reported
        // (as ACS would report its identity), never replaced or used.
        if (rows[0] && !this.resources.includes(rows[0].acs_resource)) throw new AcsError('identity_not_owned', 'createUser', undefined, undefined, undefined);
        if (rows[0]) return { identity: toIdentity(rows[0]) };
        created = await create();
        const inserted = await client.query<IdentityRow>(
          `INSERT INTO acs_identities (tenant_id, object_id, acs_user_id, acs_resource) VALUES ($1, $2, $3, $4) RETURNING ${IDENTITY_COLUMNS}`,
          [...callerColumns(user), created.acsUserId, this.resource],
        );
        return { identity: toIdentity(inserted.rows[0]!), created };
      });
    } catch (error) {
      // A COMMIT whose answer was lost may still have stored it: discard only what is not.
      // When the database cannot even say, the identity is discarded: a user who then finds
      // a mapping to a deleted identity is told so (502), an orphan would go unnoticed.
      if (created && !(await this.isMapped(created.acsUserId))) await discard(created.acsUserId);
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

  private async isMapped(acsUserId: string): Promise<boolean> {
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

  /** Records an ACS identity that must be deleted (one the service created but could not store). */
  async queueDeletion(acsUserId: string): Promise<void> {
    try {
      await this.pool.query('INSERT INTO acs_identity_deletions (acs_user_id, acs_resource) VALUES ($1, $2) ON CONFLICT DO NOTHING', [acsUserId, this.resource]);
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
