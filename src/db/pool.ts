// The PostgreSQL pool. Every wait is bounded: connecting, each statement, and a transaction
// left idle (a create holds one open across the ACS call, bounded by the ACS timeout).
import pg from 'pg';

export interface PoolOptions {
  connectionString: string;
  max: number;
  timeoutMs: number;
  /** How long a transaction may stay idle; must exceed the ACS request timeout. */
  idleInTransactionTimeoutMs: number;
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    connectionTimeoutMillis: options.timeoutMs,
    statement_timeout: options.timeoutMs,
    query_timeout: options.timeoutMs + 1000,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs,
    application_name: 'acs-token-service',
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener
  // that would crash the process. The next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}
