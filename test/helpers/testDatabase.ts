// A database per test file, on the PostgreSQL server at TEST_DATABASE_URL (default
// 127.0.0.1:5432) or, with TEST_DATABASE=pglite or when no server answers, on an embedded
// PGlite of its own. On the server, migrations are applied once to a template database (named
// by a hash of the migrations, so a changed migration makes a new template) and each file
// gets a copy, dropped when the file ends. Files can then run in parallel.
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, readMigrations } from '../../src/db/migrations.js';
import { createPool } from '../../src/db/pool.js';
import { startEmbeddedDatabase } from '../../src/local/localDatabase.js';

export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function serverAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Which database the tests run on: decided once per test file, the same way everywhere. */
export const TEST_DATABASE: 'postgres' | 'pglite' =
  process.env.TEST_DATABASE === 'pglite' || (process.env.TEST_DATABASE !== 'postgres' && !(await serverAnswers())) ? 'pglite' : 'postgres';

function databaseUrl(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `run` on a connection of its own to `url`, closed afterwards. */
export async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

const withAdmin = <T>(run: (client: pg.Client) => Promise<T>): Promise<T> => withClient(ADMIN_DATABASE_URL, run);

async function ensureTemplate(admin: pg.Client): Promise<string> {
  const hash = createHash('sha256');
  for (const m of readMigrations()) hash.update(m.name).update(m.checksum);
  const template = `acs_test_tmpl_${hash.digest('hex').slice(0, 12)}`;
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
  if (exists.rowCount) return template;
  // Built under another name and renamed, so a half-built template is never copied.
  const building = `${template}_building`;
  await admin.query(`DROP DATABASE IF EXISTS ${building}`);
  await admin.query(`CREATE DATABASE ${building}`);
  const pool = new pg.Pool({ connectionString: databaseUrl(building), max: 1 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  await admin.query(`ALTER DATABASE ${building} RENAME TO ${template}`);
  return template;
}

export interface TestDatabase {
  url: string;
  /** Settings a service needs on this kind of test database (PGlite is one session: one connection). */
  settings: Record<string, string>;
  drop(): Promise<void>;
}

async function createPgliteDatabase(migrated: boolean): Promise<TestDatabase> {
  // A few connections: the service's one, the test's own, a child process's.
  const embedded = await startEmbeddedDatabase(undefined, 8);
  if (migrated) {
    const pool = createPool({ connectionString: embedded.url, max: 1, timeoutMs: 10_000, idleInTransactionTimeoutMs: 10_000 });
    try {
      await migrate(pool);
    } finally {
      await pool.end();
    }
  }
  return { url: embedded.url, settings: { DATABASE_POOL_MAX: '1' }, drop: () => embedded.close() };
}

/** A fresh database: migrated, or empty with `migrated: false`. */
export async function createTestDatabase({ migrated = true } = {}): Promise<TestDatabase> {
  if (TEST_DATABASE === 'pglite') return createPgliteDatabase(migrated);
  const name = `acs_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (admin) => {
    if (!migrated) {
      await admin.query(`CREATE DATABASE ${name}`);
      return;
    }
    // One test file at a time builds the template and copies it.
    await admin.query('SELECT pg_advisory_lock(91442)');
    try {
      const template = await ensureTemplate(admin);
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    } finally {
      await admin.query('SELECT pg_advisory_unlock(91442)');
    }
  });
  return {
    url: databaseUrl(name),
    settings: {},
    drop: () => withAdmin(async (admin) => { await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); }),
  };
}
