// Plain SQL migrations from migrations/NNN_name.sql, applied in order, all pending ones in one
// transaction under a transaction-level advisory lock: replicas starting together apply them
// once, and the lock also works behind PgBouncer's transaction pooling. An applied file whose
// content changed is refused rather than silently skipped. With a service role named, its
// rights are granted in the same transaction (see serviceRole.ts).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type pg from 'pg';
import { projectFile } from '../projectFiles.js';
import { withTransaction } from './pool.js';
import { grantServiceRole } from './serviceRole.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

// Any constant works; it only has to be the same for every replica of this service.
const MIGRATION_LOCK_ID = 4_180_221_977;

export function readMigrations(dir = projectFile('migrations')): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d+_[\w-]+\.sql$/.test(file))
    .map((file) => {
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return {
        version: Number.parseInt(file, 10),
        name: file,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    })
    .sort((a, b) => a.version - b.version);
}

const CREATE_HISTORY = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

export interface MigrateOptions {
  /** The service's own role (DATABASE_SERVICE_ROLE): granted what the service needs. */
  serviceRole?: string;
  /** With Entra sign-in: the Entra object id to create the service's role for, when it does not exist. */
  serviceRoleObjectId?: string;
}

/** Applies the pending migrations; returns the names of those it applied. */
export async function migrate(pool: pg.Pool, migrations = readMigrations(), options: MigrateOptions = {}): Promise<string[]> {
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
    await client.query(CREATE_HISTORY);
    const { rows } = await client.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations');
    const applied = new Map(rows.map((row) => [row.version, row.checksum]));
    const done: string[] = [];
    for (const migration of migrations) {
      const checksum = applied.get(migration.version);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) throw new Error(`Migration ${migration.name} was changed after it was applied`);
        continue;
      }
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [migration.version, migration.name, migration.checksum]);
      done.push(migration.name);
    }
    if (options.serviceRole) await grantServiceRole(client, options.serviceRole, options.serviceRoleObjectId);
    return done;
  });
}

/** The migrations this code knows that the database has not applied (for /readyz). */
export async function pendingMigrations(pool: pg.Pool, migrations = readMigrations()): Promise<string[]> {
  const { rows } = await pool.query<{ exists: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS exists");
  if (!rows[0]?.exists) return migrations.map((m) => m.name);
  const applied = await pool.query<{ version: number }>('SELECT version FROM schema_migrations');
  const versions = new Set(applied.rows.map((row) => row.version));
  return migrations.filter((m) => !versions.has(m.version)).map((m) => m.name);
}
