// `npm run migrate -- --create-database`: creates DATABASE_URL's database when it does not exist,
// owned by the role that runs the migrations. Since PostgreSQL 15 only a database's owner may
// create tables in its schema public, and a database made by someone else (a cloud's control
// plane, say) may not be the migration role's: made here, it is. Idempotent, and safe when two
// runs race (the loser finds it made).
import pg from 'pg';
import { createPool, type PoolOptions } from './pool.js';

const DUPLICATE_DATABASE = '42P04';

/** The database's name if this run created it, undefined if it existed. */
export async function createDatabaseIfMissing(options: PoolOptions): Promise<string | undefined> {
  let maintenance: URL;
  try {
    maintenance = new URL(options.connectionString);
  } catch {
    throw new Error('--create-database needs DATABASE_URL as postgres://user@host:port/database');
  }
  const name = decodeURIComponent(maintenance.pathname.slice(1));
  if (!name) throw new Error('DATABASE_URL names no database to create');
  // The server's maintenance database, which every server has.
  maintenance.pathname = '/postgres';
  const pool = createPool({ ...options, connectionString: maintenance.toString(), max: 1 });
  try {
    const { rowCount } = await pool.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return undefined;
    try {
      await pool.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      return name;
    } catch (error) {
      if ((error as { code?: string }).code === DUPLICATE_DATABASE) return undefined;
      throw error;
    }
  } finally {
    await pool.end();
  }
}
