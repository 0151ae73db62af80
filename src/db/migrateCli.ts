// `npm run migrate`: applies the pending migrations to DATABASE_URL and exits. Run it once per
// release (or set MIGRATE_ON_START=true); it is safe when several run at once. With
// DATABASE_SERVICE_ROLE, it also grants that role the service's rights, on every run (and with
// DATABASE_AUTH=entra and DATABASE_SERVICE_ROLE_OBJECT_ID, creates it first if need be).
// `--create-database` first creates the database itself when it is missing (createDatabase.ts).
import { existsSync } from 'node:fs';
import { CreateDatabaseError, createDatabaseIfMissing } from './createDatabase.js';
import { databaseAccess } from './databaseSettings.js';
import { DatabaseTokenError } from './databaseTokens.js';
import { createPool } from './pool.js';
import { migrate } from './migrations.js';
import { ServiceRoleError } from './serviceRole.js';

if (existsSync('.env')) process.loadEnvFile('.env');
const connectionString = process.env.DATABASE_URL;
const problems = connectionString ? [] : ['DATABASE_URL is required'];
const { auth, serviceRole, serviceRoleObjectId } = databaseAccess(process.env, problems);
if (!connectionString || problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\nSee .env.example.\n`);
  process.exit(1);
}
// PostgreSQL's invalid_catalog_name: DATABASE_URL's database does not exist.
const MISSING_DATABASE = '3D000';
const unknown = process.argv.slice(2).filter((arg) => arg !== '--create-database');
if (unknown.length > 0) {
  process.stderr.write(`Unknown argument ${unknown.join(' ')}: the one argument is --create-database.\n`);
  process.exit(1);
}
const createDatabase = process.argv.includes('--create-database');
const poolOptions = { connectionString, auth, max: 1, timeoutMs: 30_000, idleInTransactionTimeoutMs: 60_000 };
const pool = createPool(poolOptions);
try {
  if (createDatabase) {
    const created = await createDatabaseIfMissing(poolOptions);
    process.stdout.write(created ? `Created the database ${created}.\n` : 'The database exists.\n');
  }
  const applied = await migrate(pool, undefined, { serviceRole, serviceRoleObjectId });
  process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'The database schema is up to date.\n');
  if (serviceRole) process.stdout.write(`The service's rights are granted to ${serviceRole}.\n`);
} catch (error) {
  // Nothing was applied: the migrations and the grants are one transaction.
  if (error instanceof ServiceRoleError || error instanceof CreateDatabaseError) process.stderr.write(`${error.message}. Nothing was changed.\n`);
  // The server's own refusals (and a sign-in token not obtained) need their message, not a stack.
  else if (error instanceof DatabaseTokenError || typeof (error as { code?: unknown }).code === 'string') {
    const hint = (error as { code?: string }).code === MISSING_DATABASE && !createDatabase ? ': create it, or run this with --create-database' : '';
    process.stderr.write(`The migration failed: ${(error as Error).message}${hint}. Nothing was changed.\n`);
  } else throw error;
  process.exitCode = 1;
} finally {
  await pool.end();
}
