// The doctor's database checks, through the service's own pool (Entra sign-in included):
// reachable and writable, migrations current, and the service's role unable to change the schema. They only
// read: a read-only server (a replica) answers them as any other.
import pg from 'pg';
import type { DatabaseSettings } from '../db/databaseSettings.js';
import { pendingMigrations } from '../db/migrations.js';
import { createPool } from '../db/pool.js';
import { SERVICE_TABLES } from '../db/serviceRole.js';
import { describeError, fail, invalidSettingsCheck, pass, skip, warn, type Check, type Outcome } from './checklist.js';

const { escapeIdentifier } = pg;

// PostgreSQL's insufficient_privilege.
const INSUFFICIENT_PRIVILEGE = '42501';
const ROLES_FIX = 'give the service a role of its own that cannot create in the schema or the database: docs/operations.md "Database roles" (DATABASE_SERVICE_ROLE for npm run migrate)';
const NO_RIGHTS = 'no CREATE on the schema public or on the database, owner of none of its tables';

interface DdlRights {
  /** The rights that let the role run DDL, e.g. "CREATE on the schema public"; empty: none. */
  held: string[];
  schema: boolean;
  database: string | undefined;
  /** The service's tables the role owns (or is a member of their owner): it can DROP or ALTER them. */
  owned: string[];
}

/**
 * What lets `role` change the schema: CREATE on the schema public (tables, functions), on the
 * database (new schemas), and owning the service's tables (DROP, ALTER). Read from the catalog
 * rather than tried: trying DDL writes, and on a read-only server (a replica,
 * default_transaction_read_only) it fails whatever the rights. Undefined when no such role exists.
 */
async function ddlRights(pool: pg.Pool, role: string): Promise<DdlRights | undefined> {
  const { rows } = await pool.query<{ schema: boolean | null; database: boolean | null; name: string; owned: string[] | null }>(
    `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) THEN has_schema_privilege($1, 'public', 'CREATE') END AS schema,
            CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) THEN has_database_privilege($1, current_database(), 'CREATE') END AS database,
            current_database() AS name,
            (SELECT array_agg(tablename::text ORDER BY tablename) FROM pg_tables
              WHERE schemaname = 'public' AND tablename = ANY($2) AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
                AND pg_has_role($1, tableowner, 'USAGE')) AS owned`, [role, SERVICE_TABLES]);
  const row = rows[0]!;
  if (row.schema === null || row.database === null) return undefined;
  const owned = row.owned ?? [];
  const held = [
    ...(row.schema ? ['CREATE on the schema public'] : []),
    ...(row.database ? [`CREATE on the database ${row.name}`] : []),
    ...(owned.length > 0 ? [`owner of the table${owned.length > 1 ? 's' : ''} ${owned.join(', ')}: it can DROP or ALTER ${owned.length > 1 ? 'them' : 'it'}`] : []),
  ];
  return { held, schema: row.schema, database: row.database ? row.name : undefined, owned };
}

async function ddlOutcome(pool: pg.Pool, settings: DatabaseSettings, user: string): Promise<Outcome> {
  const own = await ddlRights(pool, user);
  if (own !== undefined && own.held.length === 0) return pass(`the service's role ${user} cannot run DDL (${NO_RIGHTS})`);
  const serviceRole = settings.databaseServiceRole;
  if (serviceRole === undefined || serviceRole === user) {
    return warn(own ? `the role ${user} can run DDL (${own.held.join(', ')})` : `the role ${user} is not in pg_roles: whether it can run DDL cannot be read`, ROLES_FIX);
  }
  // DATABASE_URL is the migration role here (it may create): the named service role is asked about.
  const named = await ddlRights(pool, serviceRole);
  if (named === undefined) return fail(`DATABASE_SERVICE_ROLE ${serviceRole} does not exist`, 'create it, then npm run migrate: docs/operations.md "Database roles"');
  if (named.held.length > 0) {
    // Quoted as the migration quotes it: an Entra role name may hold hyphens and capitals.
    const fixes = [
      ...(named.schema ? ['npm run migrate (it takes CREATE on the schema public away)'] : []),
      ...(named.database ? [`REVOKE CREATE ON DATABASE ${escapeIdentifier(named.database)} FROM ${escapeIdentifier(serviceRole)}, as the database's owner`] : []),
      ...named.owned.map((table) => `ALTER TABLE ${escapeIdentifier(table)} OWNER TO ${escapeIdentifier(user)}`),
    ];
    return fail(`DATABASE_SERVICE_ROLE ${serviceRole} can run DDL (${named.held.join(', ')})`, `${fixes.join('; ')}; see docs/operations.md "Database roles"`);
  }
  return pass(`DATABASE_SERVICE_ROLE ${serviceRole} cannot run DDL (${NO_RIGHTS}; DATABASE_URL's role ${user}, which migrates, can)`);
}

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
  const reachable = async (): Promise<Outcome | Outcome[]> => {
    pool = createPool({ connectionString: settings.databaseUrl, auth: settings.databaseAuth, max: 1, timeoutMs, idleInTransactionTimeoutMs: timeoutMs });
    try {
      const { rows } = await pool.query<{ user: string; readOnly: boolean; standby: boolean }>(
        `SELECT current_user AS user, current_setting('transaction_read_only') = 'on' AS "readOnly", pg_is_in_recovery() AS standby`);
      const row = rows[0]!;
      user = row.user;
      const connected = pass(`reachable at ${where} as ${user}${settings.databaseAuth.kind === 'entra' ? ' (Entra sign-in)' : ''}`);
      if (!row.readOnly) return connected;
      // The service writes every new identity and its audit events: a read-only session fails them all.
      return [connected, fail(`${user} cannot write here: transaction_read_only is on (${row.standby ? 'a standby server' : 'default_transaction_read_only, set for the role, the database or the server'})`,
        'point DATABASE_URL at the primary server, or turn default_transaction_read_only off for the service\'s role')];
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
        let pending: string[];
        try {
          pending = await pendingMigrations(pool!);
        } catch (error) {
          if ((error as { code?: unknown }).code !== INSUFFICIENT_PRIVILEGE) throw error;
          // A role the migration never granted its rights (the service itself would fail the same way).
          return fail(`${user} cannot read the applied migrations: ${describeError(error)}`,
            `npm run migrate with DATABASE_SERVICE_ROLE=${user} grants the service's role its rights: docs/operations.md "Database roles"`);
        }
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

