// The database: where it is, how the service signs in to it, how many connections and how long
// a query may take, and who migrates it.
import { parse } from 'pg-connection-string';
import { Type, type Static } from 'typebox';
import { GUID } from '../shared/guid.js';
import { ROLE_NAME_PATTERN } from './serviceRole.js';

/**
 * How a connection signs in: the password in DATABASE_URL, or (`entra`) a Microsoft Entra
 * access token of the identity DATABASE_CREDENTIAL_CLIENT_ID names (undefined: DefaultAzureCredential).
 */
export type DatabaseAuth = { kind: 'password' } | { kind: 'entra'; credentialClientId: string | undefined };

export interface DatabaseSettings {
  databaseUrl: string;
  databaseAuth: DatabaseAuth;
  databasePoolMax: number;
  databaseTimeoutMs: number;
  /** The database is one session behind a socket (local mode's PGlite): see createPool. */
  databaseSingleSession: boolean;
  migrateOnStart: boolean;
  /** The service's own database role, granted its rights whenever migrations run (serviceRole.ts). */
  databaseServiceRole: string | undefined;
  /** With Entra sign-in: the Entra object id the migration creates the service's role for, if it does not exist. */
  databaseServiceRoleObjectId: string | undefined;
}

export const databaseSettingsSchema = Type.Object({
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  // Checked by databaseAccess, which the migration command runs too.
  DATABASE_AUTH: Type.Optional(Type.String()),
  DATABASE_CREDENTIAL_CLIENT_ID: Type.Optional(Type.String()),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  DATABASE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  MIGRATE_ON_START: Type.Boolean({ default: false }),
  DATABASE_SERVICE_ROLE: Type.Optional(Type.String({ pattern: ROLE_NAME_PATTERN })),
  DATABASE_SERVICE_ROLE_OBJECT_ID: Type.Optional(Type.String()),
});

/** What the migration command needs as well as the service: the variables as set. */
export interface DatabaseAccessEnv {
  DATABASE_URL?: string;
  DATABASE_AUTH?: string;
  DATABASE_CREDENTIAL_CLIENT_ID?: string;
  DATABASE_SERVICE_ROLE?: string;
  DATABASE_SERVICE_ROLE_OBJECT_ID?: string;
  AZURE_CLIENT_SECRET?: string;
}

export interface DatabaseAccess {
  auth: DatabaseAuth;
  serviceRole: string | undefined;
  serviceRoleObjectId: string | undefined;
}

/**
 * The password pg reads from DATABASE_URL (its user info, or `password=` in the query string;
 * '' for none), by pg's own parser, which also reads a URL with no host (a Unix socket's);
 * undefined when pg cannot read the URL.
 */
function urlPassword(databaseUrl: string, problems: string[]): string | undefined {
  try {
    return parse(databaseUrl).password ?? '';
  } catch (error) {
    problems.push(`DATABASE_URL is not a connection string pg can read (${(error as Error).message})`);
    return undefined;
  }
}

/** How the service (or the migration command) signs in, and whose role it grants; each problem to `problems`. */
export function databaseAccess(env: DatabaseAccessEnv, problems: string[]): DatabaseAccess {
  const kind = env.DATABASE_AUTH || 'password';
  if (kind !== 'password' && kind !== 'entra') problems.push(`DATABASE_AUTH must be password or entra, not "${kind}"`);
  const entra = kind === 'entra';
  const clientId = env.DATABASE_CREDENTIAL_CLIENT_ID || undefined;
  if (clientId !== undefined) {
    if (!GUID.test(clientId)) problems.push('DATABASE_CREDENTIAL_CLIENT_ID must be a GUID: the client id of the managed (or workload) identity that signs in to the database');
    else if (!entra) problems.push('DATABASE_CREDENTIAL_CLIENT_ID is for DATABASE_AUTH=entra');
  }
  const password = env.DATABASE_URL ? urlPassword(env.DATABASE_URL, problems) : undefined;
  if (entra && password) {
    problems.push('DATABASE_URL must carry no password with DATABASE_AUTH=entra: each connection\'s password is an Entra access token');
  }
  // DefaultAzureCredential would sign in as AZURE_CLIENT_ID with AZURE_CLIENT_SECRET: the API's
  // own app registration, which must not be the database's user.
  if (entra && clientId === undefined && env.AZURE_CLIENT_SECRET) {
    problems.push('DATABASE_AUTH=entra needs DATABASE_CREDENTIAL_CLIENT_ID while AZURE_CLIENT_SECRET is set: without it, the sign-in would be the API\'s own app registration');
  }
  const serviceRoleObjectId = env.DATABASE_SERVICE_ROLE_OBJECT_ID || undefined;
  if (serviceRoleObjectId !== undefined) {
    if (!GUID.test(serviceRoleObjectId)) problems.push('DATABASE_SERVICE_ROLE_OBJECT_ID must be a GUID: the Entra object id of the service\'s identity');
    else if (!entra || !env.DATABASE_SERVICE_ROLE) problems.push('DATABASE_SERVICE_ROLE_OBJECT_ID needs DATABASE_AUTH=entra and DATABASE_SERVICE_ROLE (the role it creates)');
  }
  return {
    auth: entra ? { kind: 'entra', credentialClientId: clientId } : { kind: 'password' },
    serviceRole: env.DATABASE_SERVICE_ROLE || undefined,
    serviceRoleObjectId,
  };
}

export function databaseSettings(raw: Static<typeof databaseSettingsSchema> & { AZURE_CLIENT_SECRET?: string }, problems: string[]): DatabaseSettings {
  const access = databaseAccess(raw, problems);
  return {
    databaseUrl: raw.DATABASE_URL,
    databaseAuth: access.auth,
    databasePoolMax: raw.DATABASE_POOL_MAX,
    databaseTimeoutMs: raw.DATABASE_TIMEOUT_MS,
    databaseSingleSession: false,
    migrateOnStart: raw.MIGRATE_ON_START,
    databaseServiceRole: access.serviceRole,
    databaseServiceRoleObjectId: access.serviceRoleObjectId,
  };
}
