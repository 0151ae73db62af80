// What operators look users up by (a tenant and object id, an issuer and subject, or the ACS
// user id), and a tenant's users page by page. Reads only the rows of this service's ACS
// resource, as the identity store does.
import type pg from 'pg';
import { entraCaller, oidcCaller, type Caller } from '../auth/caller.js';
import { classifyDatabaseError } from '../db/databaseErrors.js';

/** Which user an operator means. */
export type IdentityKey =
  | { tenantId: string; objectId: string }
  | { issuer: string; subject: string }
  | { acsUserId: string };

/** A user's mapping as an operator sees it. */
export interface AdminIdentity {
  /** The user, as the service keys them (for the audit hash and the deletion). */
  caller: Caller;
  acsUserId: string;
  createdAt: Date;
  /** When their ACS tokens were last revoked (null: never). */
  tokensRevokedAt: Date | null;
}

/** One page of a tenant's users, and the cursor of the next (undefined: the last page). */
export interface IdentityPage {
  identities: AdminIdentity[];
  next: string | undefined;
}

interface Row {
  tenant_id: string;
  object_id: string;
  acs_user_id: string;
  created_at: Date;
  tokens_revoked_at: Date | null;
}

const COLUMNS = 'tenant_id, object_id, acs_user_id, created_at, tokens_revoked_at';

// tenant_id holds an Entra tenant (a GUID) or another issuer's URL (db/callerColumns.ts).
const callerOfRow = (row: Row): Caller => (row.tenant_id.includes('/') ? oidcCaller(row.tenant_id, row.object_id) : entraCaller(row.tenant_id, row.object_id));

const toIdentity = (row: Row): AdminIdentity => ({
  caller: callerOfRow(row), acsUserId: row.acs_user_id, createdAt: row.created_at, tokensRevokedAt: row.tokens_revoked_at,
});

/** A page's cursor: the last object id it held, opaque to clients (base64url). */
export const encodeCursor = (objectId: string) => Buffer.from(`o:${objectId}`, 'utf8').toString('base64url');

/** The object id a cursor stands for, or undefined when it is not one of ours. */
export function decodeCursor(cursor: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  // Only what listTenant gives: an Entra object id (a GUID), never bytes handed to the database.
  return /^o:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(text) && encodeCursor(text.slice(2)) === cursor ? text.slice(2) : undefined;
}

export class AdminLookups {
  /** `resources`: the acs_resource values of this service's rows (IdentityStore's). */
  constructor(private readonly pool: pg.Pool, private readonly resources: string[]) {}

  /** The user `key` names, if they have an identity. */
  async find(key: IdentityKey): Promise<AdminIdentity | undefined> {
    const [where, values] = 'acsUserId' in key
      ? ['acs_user_id = $1', [key.acsUserId]]
      : ['tenant_id = $1 AND object_id = $2', 'tenantId' in key ? [key.tenantId, key.objectId] : [key.issuer, key.subject]];
    const rows = await this.query(`SELECT ${COLUMNS} FROM acs_identities WHERE ${where} AND acs_resource = ANY($${values.length + 1}::text[])`, [...values, this.resources]);
    return rows[0] && toIdentity(rows[0]);
  }

  /**
   * A tenant's users in object-id order, `limit` at a time, after the cursor `after` (keyset
   * pagination on the primary key: a page costs the same however deep it is, and users added
   * or deleted meanwhile never shift the others).
   */
  async listTenant(tenantId: string, limit: number, after?: string): Promise<IdentityPage> {
    const rows = await this.query(
      `SELECT ${COLUMNS} FROM acs_identities WHERE tenant_id = $1 AND object_id > $2 AND acs_resource = ANY($3::text[]) ORDER BY object_id LIMIT $4`,
      [tenantId, after ?? '', this.resources, limit + 1],
    );
    const page = rows.slice(0, limit);
    return { identities: page.map(toIdentity), next: rows.length > limit ? encodeCursor(page[page.length - 1]!.object_id) : undefined };
  }

  /** Whether an ACS identity is still queued for deletion, and since when. */
  async pendingDeletion(acsUserId: string): Promise<{ requestedAt: Date; attempts: number } | undefined> {
    const { rows } = await this.run<{ requested_at: Date; attempts: number }>(
      'SELECT requested_at, attempts FROM acs_identity_deletions WHERE acs_user_id = $1 AND acs_resource = ANY($2::text[])', [acsUserId, this.resources]);
    return rows[0] && { requestedAt: rows[0].requested_at, attempts: rows[0].attempts };
  }

  /** The audit events recorded under a user's keyed hash, oldest first, at most `limit`; `truncated` when there are more. */
  async auditEvents(userHash: string, limit: number): Promise<{ events: Array<{ at: Date; event: string; details: Record<string, unknown> }>; truncated: boolean }> {
    const { rows } = await this.run<{ at: Date; event: string; details: Record<string, unknown> }>(
      'SELECT at, event, details FROM audit_events WHERE user_hash = $1 ORDER BY at, id LIMIT $2', [userHash, limit + 1]);
    return { events: rows.slice(0, limit), truncated: rows.length > limit };
  }

  private async query(sql: string, values: unknown[]): Promise<Row[]> {
    return (await this.run<Row>(sql, values)).rows;
  }

  private async run<R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, values);
    } catch (error) {
      return classifyDatabaseError(error);
    }
  }
}
