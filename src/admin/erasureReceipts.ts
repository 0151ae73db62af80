// Erasure receipts (migrations/005_erasure_receipts.sql): who asked for a user's deletion
// through the admin API, when, and when ACS confirmed it. The user is only the audit trail's
// keyed hash; the ACS user id is held until the confirmation (a trigger on the deletion queue
// records it and clears the id), so a confirmed receipt identifies nobody without the hash key.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { classifyDatabaseError } from '../db/databaseErrors.js';

export interface ErasureReceipt {
  id: string;
  /** The client id of the operator application that asked (or the operator's name, from the CLI). */
  requestedBy: string;
  requestedAt: Date;
  /** When ACS confirmed the ACS identity deleted; null while the deletion is queued. */
  confirmedAt: Date | null;
  /** The user as the audit trail's keyed hash: their events can be found by it, they cannot. */
  userHash: string;
}

/** What a new receipt records. */
export interface ErasureRequest {
  requestedBy: string;
  userHash: string;
  acsUserId: string;
}

interface Row {
  id: string;
  requested_by: string;
  requested_at: Date;
  confirmed_at: Date | null;
  user_hash: string;
}

const COLUMNS = 'id, requested_by, requested_at, confirmed_at, user_hash';

const toReceipt = (row: Row): ErasureReceipt => ({
  id: row.id, requestedBy: row.requested_by, requestedAt: row.requested_at, confirmedAt: row.confirmed_at, userHash: row.user_hash,
});

export class ErasureReceipts {
  /** `resource`: this service's ACS resource, recorded with each receipt. */
  constructor(private readonly pool: pg.Pool, private readonly resource: string) {}

  /**
   * Records a deletion about to be asked for: made before the identity is detached, so that
   * the confirmation, however soon it comes, finds the receipt.
   */
  async open({ requestedBy, userHash, acsUserId }: ErasureRequest): Promise<ErasureReceipt> {
    const rows = await this.query(
      `INSERT INTO erasure_receipts (id, requested_by, user_hash, acs_user_id, acs_resource) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
      [randomUUID(), requestedBy, userHash, acsUserId, this.resource],
    );
    return toReceipt(rows[0]!);
  }

  /** Withdraws a receipt whose deletion did not happen (another request deleted the user first). */
  async withdraw(id: string): Promise<void> {
    await this.query('DELETE FROM erasure_receipts WHERE id = $1 AND confirmed_at IS NULL', [id]);
  }

  /**
   * Withdraws a receipt whose deletion failed, unless the mapping was detached already: then
   * the deletion is queued and its retry confirms the receipt.
   */
  async withdrawUnlessDetached(id: string): Promise<void> {
    await this.query(
      `DELETE FROM erasure_receipts r WHERE r.id = $1 AND r.confirmed_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM acs_identity_deletions d WHERE d.acs_user_id = r.acs_user_id)`, [id]);
  }

  async get(id: string): Promise<ErasureReceipt | undefined> {
    const rows = await this.query(`SELECT ${COLUMNS} FROM erasure_receipts WHERE id = $1`, [id]);
    return rows[0] && toReceipt(rows[0]);
  }

  /** The receipts of a user (by keyed hash), oldest first: a subject-access export lists them. */
  async ofUser(userHash: string): Promise<ErasureReceipt[]> {
    return (await this.query(`SELECT ${COLUMNS} FROM erasure_receipts WHERE user_hash = $1 ORDER BY requested_at, id`, [userHash])).map(toReceipt);
  }

  /** Deletes the confirmed receipts requested more than `retentionDays` ago; returns how many. */
  async purgeOlderThan(retentionDays: number): Promise<number> {
    try {
      const { rowCount } = await this.pool.query(
        'DELETE FROM erasure_receipts WHERE confirmed_at IS NOT NULL AND requested_at < now() - make_interval(days => $1)', [retentionDays]);
      return rowCount ?? 0;
    } catch (error) {
      return classifyDatabaseError(error);
    }
  }

  private async query(sql: string, values: unknown[]): Promise<Row[]> {
    try {
      return (await this.pool.query<Row>(sql, values)).rows;
    } catch (error) {
      return classifyDatabaseError(error);
    }
  }
}
