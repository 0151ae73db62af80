// The doctor's database checks, through the service's own pool (Entra sign-in included):
// reachable, migrations current, and the service's role unable to change the schema.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { DatabaseSettings } from '../db/databaseSettings.js';
import { pendingMigrations } from '../db/migrations.js';
import { beginTransaction, createPool } from '../db/pool.js';
import { describeError, fail, invalidSettingsCheck, pass, skip, warn, type Check, type Outcome } from './checklist.js';

// PostgreSQL's insufficient_privilege.
const INSUFFICIENT_PRIVILEGE = '42501';
const ROLES_FIX = 'give the service a role of its own that cannot create in the schema: docs/operations.md "Database roles" (DATABASE_SERVICE_ROLE for npm run migrate)';

/** Whether the role may create in the schema: a CREATE TABLE in a transaction rolled back. */
async function tryDdl(pool: pg.Pool): Promise<'refused' | 'allowed'> {
  const transaction = await beginTransaction(pool);
  try {
    // A name no one uses; rolled back either way.
    await transaction.query(`CREATE TABLE doctor_ddl_probe_${randomBytes(6).toString('hex')} (id integer)`);
  } catch (error) {
    if ((error as { code?: unknown }).code === INSUFFICIENT_PRIVILEGE) return 'refused';
    throw error;
  }
  await transaction.rollback();
  return 'allowed';
}

async function ddlOutcome(pool: pg.Pool, settings: DatabaseSettings, user: string): Promise<Outcome> {
  if (await tryDdl(pool) === 'refused') return pass(`the service's role ${user} cannot run DDL (CREATE TABLE refused)`);
  const serviceRole = settings.databaseServiceRole;
  if (serviceRole === undefined || serviceRole === user) {
    return warn(`the role ${user} can run DDL (a CREATE TABLE succeeded, rolled back)`, ROLES_FIX);
  }
  // DATABASE_URL is the migration role here (it may create): the named service role is asked about.
  const { rows } = await pool.query<{ can: boolean | null }>(
    'SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) THEN has_schema_privilege($1, current_schema(), \'CREATE\') END AS can', [serviceRole]);
  const can = rows[0]?.can;
  if (can === null || can === undefined) return fail(`DATABASE_SERVICE_ROLE ${serviceRole} does not exist`, 'create it, then npm run migrate: docs/operations.md "Database roles"');
  if (can) return fail(`DATABASE_SERVICE_ROLE ${serviceRole} can create in the schema`, 'npm run migrate (it takes CREATE away), or see docs/operations.md "Database roles"');
  return pass(`DATABASE_SERVICE_ROLE ${serviceRole} cannot create in the schema (DATABASE_URL's role ${user}, which migrates, can)`);
}

/** The checks, and `close` to end their pool once they have run; `invalid`: why the settings are invalid, when undefined. */
export function databaseChecks(settings: DatabaseSettings | undefined, invalid: readonly string[] = []): { checks: Check[]; close(): Promise<void> } {
  if (settings === undefined) return { close: async () => undefined, checks: [invalidSettingsCheck('Database', invalid)] };
  const where = (() => {
    try {
      const url = new URL(settings.databaseUrl);
      return `${url.hostname}:${url.port || 5432}${url.pathname}`;
    } catch {
      return 'DATABASE_URL';
    }
  })();
  const timeoutMs = settings.databaseTimeoutMs;
  let pool: pg.Pool | undefined;
  let user: string | undefined;
  const reachable = async (): Promise<Outcome> => {
    pool = createPool({ connectionString: settings.databaseUrl, auth: settings.databaseAuth, max: 1, timeoutMs, idleInTransactionTimeoutMs: timeoutMs });
    try {
      const { rows } = await pool.query<{ user: string }>('SELECT current_user AS user');
      user = rows[0]!.user;
      return pass(`reachable at ${where} as ${user}${settings.databaseAuth.kind === 'entra' ? ' (Entra sign-in)' : ''}`);
    } catch (error) {
      return fail(`cannot connect to ${where}: ${describeError(error)}`, settings.databaseAuth.kind === 'entra'
        ? 'check DATABASE_URL, that the server can be reached from here, and the Entra sign-in (DATABASE_CREDENTIAL_CLIENT_ID): docs/operations.md "Passwordless database"'
        : 'check DATABASE_URL (host, port, database, user, password) and that the server can be reached from here');
    }
  };
  const unreachable = skip('not checked: the database cannot be reached');
  const checks: Check[] = [
    { group: 'Database', timeoutMs: timeoutMs + 2000, timeoutFix: `check that ${where} can be reached from here`, run: reachable },
    {
      group: 'Database', timeoutMs: 2 * timeoutMs + 2000, timeoutFix: `check that ${where} answers`,
      async run() {
        if (user === undefined) return unreachable;
        const pending = await pendingMigrations(pool!);
        if (pending.length === 0) return pass('migrations current');
        // The service applies them itself at start (under its advisory lock).
        if (settings.migrateOnStart) return pass(`migrations pending: ${pending.join(', ')}, applied when the service starts (MIGRATE_ON_START=true)`);
        return fail(`migrations pending: ${pending.join(', ')}`, 'npm run migrate');
      },
    },
    {
      group: 'Database', timeoutMs: 3 * timeoutMs + 2000, timeoutFix: `check that ${where} answers`,
      async run() {
        if (user === undefined) return unreachable;
        return ddlOutcome(pool!, settings, user);
      },
    },
  ];
  return { checks, close: async () => { await pool?.end(); } };
}

