// `npm run migrate -- --create-database`: creates DATABASE_URL's database when it does not exist,
// owned by the role that runs the migrations. Since PostgreSQL 15 only a database's owner may
// create tables in its schema public, and a database made by someone else (a cloud's control
// plane, say) may not be the migration role's: made here, it is. Idempotent, and safe when two
// runs race (the loser finds it made).
import pg from 'pg';
import { parse } from 'pg-connection-string';
import { createPool, type PoolOptions } from './pool.js';

// What CREATE DATABASE answers when the name is taken: duplicate_database, or, when another
// CREATE DATABASE of that name commits meanwhile, unique_violation on pg_database's name index.
const NAME_TAKEN = new Set(['42P04', '23505']);

/** A setting this command cannot work with: its message says why, without a stack. */
export class CreateDatabaseError extends Error {}

/** The database's name if this run created it, undefined if it existed. */
export async function createDatabaseIfMissing(options: PoolOptions): Promise<string | undefined> {
  // The name as pg connects to it (its own parser: decodeURI, so %23 stays %23).
  const name = parse(options.connectionString).database;
  if (!name) throw new CreateDatabaseError('DATABASE_URL names no database to create');
  let maintenance: URL;
  try {
    maintenance = new URL(options.connectionString);
  } catch {
    throw new CreateDatabaseError('--create-database needs DATABASE_URL as postgres://user@host:port/database');
  }
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
      if (NAME_TAKEN.has((error as { code?: string }).code ?? '')) return undefined;
      throw error;
    }
  } finally {
    await pool.end();
  }
}
