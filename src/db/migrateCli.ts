// `npm run migrate`: applies the pending migrations to DATABASE_URL and exits. Run it once per
// release (or set MIGRATE_ON_START=true); it is safe when several run at once. With
// DATABASE_SERVICE_ROLE, it also grants that role the service's rights, on every run.
import { existsSync } from 'node:fs';
import { createPool } from './pool.js';
import { migrate } from './migrations.js';
import { ServiceRoleError } from './serviceRole.js';

if (existsSync('.env')) process.loadEnvFile('.env');
const connectionString = process.env.DATABASE_URL;
if (!connectionString) {
  process.stderr.write('DATABASE_URL is required (see .env.example).\n');
  process.exit(1);
}
const serviceRole = process.env.DATABASE_SERVICE_ROLE || undefined;
const pool = createPool({ connectionString, max: 1, timeoutMs: 30_000, idleInTransactionTimeoutMs: 60_000 });
try {
  const applied = await migrate(pool, undefined, { serviceRole });
  process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'The database schema is up to date.\n');
  if (serviceRole) process.stdout.write(`The service's rights are granted to ${serviceRole}.\n`);
} catch (error) {
  if (!(error instanceof ServiceRoleError)) throw error;
  // Nothing was applied: the migrations and the grants are one transaction.
  process.stderr.write(`${error.message}. Nothing was changed.\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
