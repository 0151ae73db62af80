// The warm path's one read, shared: lookups of users' identities that arrive together (in the
// same turn of the event loop) go to PostgreSQL as one statement. Under load that turns
// twenty round trips into one; alone, a lookup waits for nothing but `setImmediate`.
// Each lookup is still sent after its request arrived, so it sees every revocation and
// deletion committed before that, on any replica.
import type pg from 'pg';

export interface IdentityRow {
  acs_user_id: string;
  created_at: Date;
  tokens_revoked_at: Date | null;
}

interface Lookup {
  tenantId: string;
  objectId: string;
  resolve(row: IdentityRow | undefined): void;
  reject(error: unknown): void;
}

/** Keys per statement: a larger burst goes out as several statements, side by side. */
const MAX_BATCH = 256;

// One row per key that has a mapping, with the key's position in the arrays.
const BATCH_QUERY = `SELECT k.position::int AS position, a.acs_user_id, a.created_at, a.tokens_revoked_at
  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(tenant_id, object_id, position)
  JOIN acs_identities a ON a.tenant_id = k.tenant_id AND a.object_id = k.object_id`;

export class IdentityLookups {
  private waiting: Lookup[] = [];

  constructor(private readonly pool: pg.Pool) {}

  /** The mapping row of (tenantId, objectId), or undefined; rejects with the database's error. */
  find(tenantId: string, objectId: string): Promise<IdentityRow | undefined> {
    return new Promise((resolve, reject) => {
      if (this.waiting.push({ tenantId, objectId, resolve, reject }) === 1) setImmediate(() => this.sendWaiting());
    });
  }

  private sendWaiting(): void {
    while (this.waiting.length > 0) void this.send(this.waiting.splice(0, MAX_BATCH));
  }

  private async send(batch: Lookup[]): Promise<void> {
    try {
      const { rows } = await this.pool.query<IdentityRow & { position: number }>(BATCH_QUERY, [
        batch.map((lookup) => lookup.tenantId),
        batch.map((lookup) => lookup.objectId),
      ]);
      const found = new Map(rows.map((row) => [row.position, row]));
      batch.forEach((lookup, index) => lookup.resolve(found.get(index + 1)));
    } catch (error) {
      for (const lookup of batch) lookup.reject(error);
    }
  }
}
