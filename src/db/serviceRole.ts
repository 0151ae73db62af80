// The rights of the service's own database role (DATABASE_SERVICE_ROLE): what its queries do
// and nothing else, so a compromised or buggy service cannot change the schema. Granted by the
// migration command on every run, not by a migration file: a migration runs once, but the role
// may be named (or renamed) after the tables exist, and a migration that adds a table needs the
// grant in the same run. Every statement here is idempotent. The role itself is created by the
// operator, or, with Entra sign-in on Azure, by the migration as the Entra principal whose
// object id it is given; the migration role must own the tables (it created them).
import type pg from 'pg';

/** Role names we accept: what an operator would type, quoted anyway when used. */
export const ROLE_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_$@.-]{0,62}$';

// Table by table, from what src/db, src/audit and the deletion retries run. A new table must
// be added here (test/databaseRoles.test.ts checks that the service can read every table).
const TABLE_RIGHTS: ReadonlyArray<[table: string, rights: string]> = [
  // Lookups, creation (INSERT … RETURNING), revocation (UPDATE), deletion.
  ['acs_identities', 'SELECT, INSERT, UPDATE, DELETE'],
  // The deletion queue: queued, retried (SELECT … FOR UPDATE needs UPDATE), removed when done.
  ['acs_identity_deletions', 'SELECT, INSERT, UPDATE, DELETE'],
  // Written in batches; rows past the retention deleted.
  ['audit_events', 'SELECT, INSERT, DELETE'],
  // Admin erasures: made, read, confirmed (by a trigger, as the deleting role), purged.
  ['erasure_receipts', 'SELECT, INSERT, UPDATE, DELETE'],
  // /readyz compares the applied migrations with the code's.
  ['schema_migrations', 'SELECT'],
  // Tenant offboardings: started, claimed (FOR UPDATE), their progress updated; a completed
  // job's items deleted.
  ['tenant_offboardings', 'SELECT, INSERT, UPDATE'],
  ['tenant_offboarding_items', 'SELECT, INSERT, UPDATE, DELETE'],
];
const SEQUENCES = ['audit_events_id_seq'];
/** The service's tables, whose owner can DROP or ALTER them whatever it is granted. */
export const SERVICE_TABLES: readonly string[] = TABLE_RIGHTS.map(([table]) => table);

export class ServiceRoleError extends Error {}

const UNDEFINED_FUNCTION = '42883';

/**
 * Grants `role` the service's rights, in the migration's transaction; throws if it would have
 * more. With `objectId`, a role that does not exist is first created for that Entra principal.
 */
export async function grantServiceRole(client: pg.ClientBase, role: string, objectId?: string): Promise<void> {
  if (!new RegExp(ROLE_NAME_PATTERN).test(role)) throw new ServiceRoleError(`DATABASE_SERVICE_ROLE "${role}" is not a role name`);
  const { rows } = await client.query<{ exists: boolean; current: boolean; superuser: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists, $1 = current_user AS current,
            COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = $1), false) AS superuser`, [role]);
  const found = rows[0]!;
  if (!found.exists && objectId) {
    // Azure Database for PostgreSQL's function (the server's Entra administrator may call it):
    // a LOGIN role that signs in with that principal's tokens. 'service': an application or
    // managed identity; not an administrator; no MFA claim required.
    await client.query("SELECT * FROM pgaadauth_create_principal_with_oid($1, $2, 'service', false, false)", [role, objectId]).catch((error: unknown) => {
      if ((error as { code?: string }).code !== UNDEFINED_FUNCTION) throw error;
      throw new ServiceRoleError(`DATABASE_SERVICE_ROLE ${role} does not exist, and this server has no pgaadauth_create_principal_with_oid to create it for `
        + 'DATABASE_SERVICE_ROLE_OBJECT_ID: that is Azure Database for PostgreSQL\'s, with Microsoft Entra authentication on');
    });
  } else if (!found.exists) {
    throw new ServiceRoleError(`DATABASE_SERVICE_ROLE names the role ${role}, which does not exist: create it first (CREATE ROLE ${role} LOGIN PASSWORD '…')`);
  }
  if (found.current) throw new ServiceRoleError(`DATABASE_SERVICE_ROLE ${role} is the role that runs the migrations: give the service a role of its own`);
  if (found.superuser) throw new ServiceRoleError(`DATABASE_SERVICE_ROLE ${role} is a superuser: give the service a role without it`);

  const quoted = client.escapeIdentifier(role);
  await client.query(`GRANT USAGE ON SCHEMA public TO ${quoted}`);
  for (const [table, rights] of TABLE_RIGHTS) await client.query(`GRANT ${rights} ON TABLE ${table} TO ${quoted}`);
  for (const sequence of SEQUENCES) await client.query(`GRANT USAGE ON SEQUENCE ${sequence} TO ${quoted}`);
  // Before PostgreSQL 15 every role may create in the schema public. Taken away only when the
  // service's role can: the REVOKE from PUBLIC applies to every role of the database.
  if (await canCreate(client, role)) {
    await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    await client.query(`REVOKE CREATE ON SCHEMA public FROM ${quoted}`);
  }

  // The REVOKE above does nothing (a warning) unless this role owns the schema; and a role that
  // owns the database or the schema keeps CREATE. Checked rather than assumed.
  if (await canCreate(client, role)) {
    throw new ServiceRoleError(`DATABASE_SERVICE_ROLE ${role} can still create objects in the schema public (it owns the database or the schema, `
      + 'or PUBLIC keeps CREATE on it: REVOKE CREATE ON SCHEMA public FROM PUBLIC as its owner)');
  }
}

async function canCreate(client: pg.ClientBase, role: string): Promise<boolean> {
  const { rows } = await client.query<{ create: boolean }>("SELECT has_schema_privilege($1, 'public', 'CREATE') AS create", [role]);
  return rows[0]!.create;
}
