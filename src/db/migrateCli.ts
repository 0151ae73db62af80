// `npm run migrate`: applies the pending migrations to DATABASE_URL and exits. Run it once per
// release (or set MIGRATE_ON_START=true); it is safe when several run at once. With
// DATABASE_SERVICE_ROLE, it also grants that role the service's rights, on every run (and with
// DATABASE_AUTH=entra and DATABASE_SERVICE_ROLE_OBJECT_ID, creates it first if need be).
import { existsSync } from 'node:fs';
import { databaseAccess } from './databaseSettings.js';
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
const pool = createPool({ connectionString, auth, max: 1, timeoutMs: 30_000, idleInTransactionTimeoutMs: 60_000 });
try {
  const applied = await migrate(pool, undefined, { serviceRole, serviceRoleObjectId });
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
