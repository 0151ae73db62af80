// The warm path's one read, shared: lookups of users' identities that arrive together (in the
// same turn of the event loop) go to PostgreSQL as one statement. Under load that turns
// many round trips into one; alone, a lookup waits for nothing but `setImmediate`. While a
// statement is out, the lookups that arrive wait for it and then go together: a statement
// costs PostgreSQL (and this process) about as much for one key as for many, so fewer,
// larger statements leave more of the machine to the requests.
// Each lookup is still sent after its request arrived, so it sees every revocation and
// deletion committed before that, on any replica.
// The statement is prepared once per connection (named): PostgreSQL then skips parsing and
// planning it on the warm path (bench/RESULTS.md, 2026-11-27 (later)). Behind a
// pooler that does not keep prepared statements across transactions (PgBouncer before 1.21
// in transaction mode, or with max_prepared_statements = 0) the first statement that finds
// its prepared statement missing, or already there, turns preparing off for this process
// and is sent again unnamed: lookups then work as they did before.
import type pg from 'pg';
import type { Caller } from '../auth/caller.js';
import { callerColumns } from './callerColumns.js';

export interface IdentityRow {
  acs_user_id: string;
  created_at: Date;
  tokens_revoked_at: Date | null;
  /** The database's now() when the row was read: the one clock that revocations are compared on. */
  read_at: Date;
}

interface Lookup {
  /** The caller's (tenant_id, object_id). */
  columns: [string, string];
  resolve(row: IdentityRow | undefined): void;
  reject(error: unknown): void;
}

/** Keys per statement: a larger burst goes out as several statements, side by side (full ones never wait). */
const MAX_BATCH = 256;

// One row per key that has a mapping, with the key's position in the arrays.
const BATCH_QUERY = `SELECT k.position::int AS position, a.acs_user_id, a.created_at, a.tokens_revoked_at, now() AS read_at
  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(tenant_id, object_id, position)
  JOIN acs_identities a ON a.tenant_id = k.tenant_id AND a.object_id = k.object_id AND a.acs_resource = ANY($3::text[])`;

const STATEMENT_NAME = 'identity_lookups';
// What a pooler that drops prepared statements leads to: "prepared statement does not exist"
// (another server connection) and "prepared statement already exists" (one that has it).
const PREPARED_STATEMENT_LOST = new Set(['26000', '42P05']);

/** Statements of fewer than MAX_BATCH keys out at once (by default); lookups that arrive meanwhile wait for one to return. */
const STATEMENTS_IN_FLIGHT = 1;

export class IdentityLookups {
  private waiting: Lookup[] = [];
  private prepare = true;
  private inFlight = 0;
  private scheduled = false;

  /**
   * `resources`: the values of acs_resource whose rows are this service's (see IdentityStore).
   * `onPreparingOff`: called once, with the error, if preparing turns off.
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly resources: readonly string[],
    private readonly onPreparingOff: (error: unknown) => void = () => {},
    private readonly statementsInFlight = STATEMENTS_IN_FLIGHT,
  ) {}

  /** The caller's mapping row, or undefined; rejects with the database's error. */
  find(caller: Caller): Promise<IdentityRow | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ columns: callerColumns(caller), resolve, reject });
      this.schedule();
    });
  }

  /** Sends what waits at the end of this turn, if a statement may go out. */
  private schedule(): void {
    if (this.scheduled || this.waiting.length === 0 || !this.mayGoOut()) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.sendWaiting();
    });
  }

  private sendWaiting(): void {
    while (this.waiting.length > 0 && this.mayGoOut()) {
      this.inFlight++;
      void this.send(this.waiting.splice(0, MAX_BATCH)).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  /**
   * A full batch always: under a flood, or while statements hang on a database gone silent,
   * lookups go out as fast as before.
   */
  private mayGoOut(): boolean {
    return this.inFlight < this.statementsInFlight || this.waiting.length >= MAX_BATCH;
  }

  private async send(batch: Lookup[]): Promise<void> {
    try {
      // Whether this batch went prepared, decided when it is sent: batches out at the same
      // time may all meet the loss, and each is sent again.
      const prepared = this.prepare;
      const rows = await this.query(batch, prepared).catch((error: unknown) => {
        if (!prepared || !PREPARED_STATEMENT_LOST.has((error as { code?: string }).code ?? '')) throw error;
        if (this.prepare) {
          this.prepare = false;
          this.onPreparingOff(error);
        }
        return this.query(batch, false);
      });
      const found = new Map(rows.map((row) => [row.position, row]));
      batch.forEach((lookup, index) => lookup.resolve(found.get(index + 1)));
    } catch (error) {
      for (const lookup of batch) lookup.reject(error);
    }
  }

  private async query(batch: Lookup[], prepared: boolean): Promise<Array<IdentityRow & { position: number }>> {
    const { rows } = await this.pool.query<IdentityRow & { position: number }>({
      text: BATCH_QUERY,
      ...(prepared ? { name: STATEMENT_NAME } : {}),
      values: [batch.map((lookup) => lookup.columns[0]), batch.map((lookup) => lookup.columns[1]), this.resources],
    });
    return rows;
  }
}
