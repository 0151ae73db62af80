// A new database on a PostgreSQL server, with the project's migrations applied: for the
// processes that the bench and the start-up profile start against a server of their own.
import type pg from 'pg';
import { migrate } from '../../src/db/migrations.js';
import { createPool } from '../../src/db/pool.js';

/** Creates database `name` through `admin` (connected to `adminUrl`'s server) and migrates it; its URL. */
export async function createMigratedDatabase(admin: pg.Client, adminUrl: string, name: string): Promise<URL> {
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = createPool({ connectionString: url.toString(), max: 1, timeoutMs: 10_000, idleInTransactionTimeoutMs: 10_000 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  return url;
}
