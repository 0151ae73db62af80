// The audit trail, written in batches: events wait in memory for at most `flushIntervalMs`
// (or until `maxBatch` are waiting) and go to the database in one INSERT, so that auditing
// adds no database round trip to a request. A crash can lose at most one interval of events;
// a database outage keeps them (up to a bound) until it is back. Events that come in floods are
// tallied instead: one row per kind (and user) and interval, with a `count` and the `since` of
// the first, so that they cost the database nothing per request: refusals of unidentified
// callers (a flood of bad tokens), and a user's recent token served again (a reload storm).
import type pg from 'pg';

export type AuditEventName =
  | 'identity_created'
  | 'token_issued'
  | 'tokens_revoked'
  | 'deletion_requested'
  | 'deletion_completed'
  | 'teams_exchange'
  | 'request_refused'
  | 'admin_operation';

interface PendingEvent {
  at: Date;
  event: AuditEventName;
  userHash: string | null;
  details: Record<string, unknown>;
}

/** Events (and tallies) kept waiting at most; beyond, new ones are dropped and counted. */
export const MAX_PENDING = 10_000;

export class AuditTrail {
  private pending: PendingEvent[] = [];
  private readonly tallies = new Map<string, { since: Date; event: AuditEventName; userHash: string | null; details: Record<string, unknown>; count: number }>();
  private lastWrite: Promise<void> = Promise.resolve();
  private nextWrite: Promise<void> | undefined;
  private dropped = 0;
  /** The key part of frozen details, which their callers make once and pass again and again. */
  private readonly detailKeys = new WeakMap<object, string>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly onError: (error: unknown) => void,
    /** Called at a flush with the events dropped since the last one, if any. */
    private readonly onDropped: (count: number) => void,
    private readonly maxBatch = 500,
  ) {}

  record(event: AuditEventName, userHash: string | undefined, details: Record<string, unknown> = {}): void {
    this.enqueue({ at: new Date(), event, userHash: userHash ?? null, details });
    if (this.pending.length >= this.maxBatch) void this.flush();
  }

  /** `events`: how many events the row stands for (a tally's count), for the drop count. */
  private enqueue(event: PendingEvent, events = 1): void {
    if (this.pending.length >= MAX_PENDING) this.dropped += events;
    else this.pending.push(event);
  }

  /**
   * Counts an event (of `userHash`, or of an unidentified caller); written at the next flush as
   * one row per event, user and details, with `count` and `since`. Details that are frozen
   * (reused by their caller, and holding only primitive values) have their part of the key worked
   * out once.
   */
  tally(event: AuditEventName, details: Record<string, unknown>, userHash?: string): void {
    let detailsKey = this.detailKeys.get(details);
    if (detailsKey === undefined) {
      detailsKey = Object.values(details).join('\u0000');
      if (Object.isFrozen(details)) this.detailKeys.set(details, detailsKey);
    }
    const key = `${event}\u0000${userHash ?? ''}\u0000${detailsKey}`;
    const tally = this.tallies.get(key);
    if (tally) tally.count++;
    else if (this.tallies.size >= MAX_PENDING) this.dropped++;
    else this.tallies.set(key, { since: new Date(), event, userHash: userHash ?? null, details, count: 1 });
  }

  /**
   * Writes what is waiting: when the promise resolves, every event recorded before the call
   * has been written (or kept after a failure). Writes run one after another; calls made
   * while one waits to start share it.
   */
  flush(): Promise<void> {
    if (!this.nextWrite) {
      const next = this.lastWrite.then(() => { this.nextWrite = undefined; return this.write(); });
      this.nextWrite = next;
      // A write that threw must not stop every later one.
      this.lastWrite = next.catch(() => undefined);
    }
    return this.nextWrite;
  }

  /**
   * Writes the events waiting when it starts; those recorded meanwhile wait for the next
   * flush, so that under load a write carries a full interval (or batch) of events rather
   * than chasing each new one with an INSERT of its own.
   */
  private async write(): Promise<void> {
    this.pendTallies();
    if (this.dropped > 0) {
      this.onDropped(this.dropped);
      this.dropped = 0;
    }
    for (let left = this.pending.length; left > 0; left -= this.maxBatch) {
      const batch = this.pending.splice(0, Math.min(left, this.maxBatch));
      const values = batch.flatMap((e) => [e.at, e.event, e.userHash, JSON.stringify(e.details)]);
      const rows = batch.map((_, i) => `($${i * 4 + 1}, $${i * 4 + 2}, $${i * 4 + 3}, $${i * 4 + 4}::jsonb)`).join(', ');
      try {
        await this.pool.query(`INSERT INTO audit_events (at, event, user_hash, details) VALUES ${rows}`, values);
      } catch (error) {
        // Keep them for the next flush (the bound above protects memory).
        this.pending.unshift(...batch);
        this.onError(error);
        return;
      }
    }
  }

  private pendTallies(): void {
    // Not through record(): a write must not start another write.
    for (const { since, event, userHash, details, count } of this.tallies.values()) this.enqueue({ at: new Date(), event, userHash, details: { ...details, count, since } }, count);
    this.tallies.clear();
  }

  /** Deletes events older than `retentionDays`; returns how many. */
  async deleteOlderThan(retentionDays: number): Promise<number> {
    const { rowCount } = await this.pool.query("DELETE FROM audit_events WHERE at < now() - make_interval(days => $1)", [retentionDays]);
    return rowCount ?? 0;
  }
}
