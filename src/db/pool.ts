// The PostgreSQL pool, for the service and the migration command alike. Every wait is bounded:
// connecting (a token request included), each statement, and a transaction left idle (a create
// holds one open across the ACS call, bounded by the ACS timeout).
import pg from 'pg';
import { entraCredential } from '../shared/entraCredential.js';
import type { DatabaseAuth } from './databaseSettings.js';
import { DatabaseTokens } from './databaseTokens.js';

export interface PoolOptions {
  connectionString: string;
  /** With `entra`, each new connection's password is an Entra access token (databaseTokens.ts). */
  auth?: DatabaseAuth;
  max: number;
  timeoutMs: number;
  /** How long a transaction may stay idle; must exceed the ACS request timeout. */
  idleInTransactionTimeoutMs: number;
  /** Called for every statement sent (each is one round trip), for the metrics. */
  onQuery?: () => void;
  /**
   * The server is one session that outlives its connections (local mode's PGlite behind its
   * socket): a connection's prepared statements stay for the next one, which `pg` does not know.
   */
  singleSession?: boolean;
}

export function createPool(options: PoolOptions): pg.Pool {
  const { auth } = options;
  const tokens = auth?.kind === 'entra' ? new DatabaseTokens(() => entraCredential(auth.credentialClientId), options.timeoutMs) : undefined;
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    ...(tokens ? { Client: tokenClient(tokens) } : {}),
    max: options.max,
    connectionTimeoutMillis: options.timeoutMs,
    statement_timeout: options.timeoutMs,
    query_timeout: options.timeoutMs + 1000,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs,
    application_name: 'acs-token-service',
    // One session: never close the idle connection (pg's default closes it after 10 s), so the
    // session and the connection's record of its prepared statements stay together.
    ...(options.singleSession ? { idleTimeoutMillis: 0 } : {}),
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener
  // that would crash the process. The next query reconnects.
  pool.on('error', () => undefined);
  if (options.singleSession) {
    // A connection that replaces one that was dropped (after an error, say) starts from a clean
    // session: otherwise its first named statement meets the old one ("already exists").
    // Queued before anything the pool's user sends on the new connection.
    pool.on('connect', (client) => { client.query('DEALLOCATE ALL').catch(() => undefined); });
  }
  const { onQuery } = options;
  if (onQuery) {
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => { onQuery(); return query(...args); }) as typeof client.query;
    });
  }
  return pool;
}

/**
 * A client whose password is the current token, asked for when the server asks for a password
 * (within the connection's timeout). Set after construction: pg lets the connection string's
 * empty password override a `password` option.
 */
function tokenClient(tokens: DatabaseTokens): new () => pg.Client {
  return class extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super(config);
      Object.defineProperty(this, 'password', { configurable: true, enumerable: false, writable: true, value: () => tokens.password() });
    }
  };
}

/** A transaction begun on one pooled connection; `commit` or `rollback` ends it and releases the connection. */
export interface OpenTransaction {
  client: pg.PoolClient;
  /** A statement in the transaction; when it fails, the transaction is rolled back. */
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  commit(): Promise<void>;
  /** Never throws: a connection that cannot roll back is discarded instead. */
  rollback(): Promise<void>;
}

/**
 * Begins a transaction on one pooled connection. A connection that breaks meanwhile (even while
 * idle, waiting for ACS) is discarded instead of going back to the pool, and its 'error' event
 * is handled here rather than crashing the process.
 */
export async function beginTransaction(pool: pg.Pool): Promise<OpenTransaction> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => { broken = error; };
  client.on('error', onError);
  const release = () => {
    client.off('error', onError);
    client.release(broken);
  };
  const rollback = async () => {
    if (!broken) await client.query('ROLLBACK').catch((rollbackError: Error) => { broken = rollbackError; });
    release();
  };
  try {
    await client.query('BEGIN');
  } catch (error) {
    await rollback();
    throw error;
  }
  return {
    client,
    async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]) {
      try {
        return await client.query<R>(text, values);
      } catch (error) {
        await rollback();
        throw error;
      }
    },
    async commit() {
      try {
        await client.query('COMMIT');
      } catch (error) {
        await rollback();
        throw error;
      }
      release();
    },
    rollback,
  };
}

/** Runs `work` in a transaction (see beginTransaction), committed unless it throws. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const transaction = await beginTransaction(pool);
  let result: T;
  try {
    result = await work(transaction.client);
  } catch (error) {
    await transaction.rollback();
    throw error;
  }
  await transaction.commit();
  return result;
}
