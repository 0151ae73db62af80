// Local mode (README, docs/security.md): with no Azure setting at all and NODE_ENV not production, the service
// starts its own Entra ID and ACS emulators on loopback and an embedded PostgreSQL (PGlite),
// and trusts exactly them. Everything is real but the far ends: the same code, the same SQL,
// the real SDK clients. The data folder keeps users, their identities and the emulators'
// keys across restarts.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { LOCAL_ACS_RESOURCE } from '../db/resources.js';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { isLoopbackHost } from '../shared/urlRules.js';
import { startAcsEmulator, type AcsEmulator } from '../../emulators/acsEmulator.js';
import { nameToGuid, newSigningKeyPem, startEntraEmulator, type EntraEmulator } from '../../emulators/entraEmulator.js';
import { startEmbeddedDatabase } from './localDatabase.js';
import { prettyLogStream, type LogSink } from './localLogs.js';

/** Local tenants, by name; `npm run token -- --tenant fabrikam` picks the second. */
export const LOCAL_TENANTS: Record<string, string> = {
  contoso: nameToGuid('tenant', 'contoso'),
  fabrikam: nameToGuid('tenant', 'fabrikam'),
};
export const LOCAL_CLIENT_ID = nameToGuid('app', 'acs-token-service-local');
// Stable, so that identities stored in the database keep belonging to the emulated resource
// (migrations/004_acs_resource.sql recognises local mode's older rows by it).
const LOCAL_ACS_RESOURCE_ID = nameToGuid('acs-resource', 'local');

/**
 * Why local mode would not stay on this machine: a non-loopback HOST would let anyone mint
 * tokens, a remote DATABASE_URL smells of a deployment whose Azure settings went missing.
 * LOCAL_MODE=true accepts both on purpose.
 */
function localModeRefusals(env: NodeJS.ProcessEnv): string[] {
  if (env.LOCAL_MODE === 'true') return [];
  const refusals: string[] = [];
  if (env.HOST && !isLoopbackHost(env.HOST)) refusals.push(`HOST=${env.HOST} is not a loopback address: anyone reaching it could mint local tokens`);
  if (env.DATABASE_URL) {
    let host = '';
    try { host = new URL(env.DATABASE_URL).hostname; } catch { /* reported by the configuration check */ }
    if (host && !isLoopbackHost(host)) refusals.push(`DATABASE_URL points at ${host}, not at this machine`);
  }
  if (refusals.length > 0) {
    refusals.push('No Azure setting is set, so this would run in local mode. Set ACS_CONNECTION_STRING, AZURE_TENANT_ID and AZURE_CLIENT_ID to use Azure, or LOCAL_MODE=true to run local mode anyway');
  }
  return refusals;
}

interface LocalState {
  clientSecret: string;
  /** Keeps users' audit hashes stable across restarts (older state files lack it). */
  auditHashKey?: string;
  signingKey: { kid: string; privateKeyPem: string };
  /** The Entra emulator's port is part of every token's issuer: reused, so tokens outlive a restart. */
  entraPort?: number;
  acs: { accessKey: string; identities: string[] };
}

function newState(): LocalState {
  return {
    clientSecret: randomBytes(24).toString('base64url'),
    signingKey: newSigningKeyPem(),
    acs: { accessKey: randomBytes(32).toString('base64'), identities: [] },
  };
}

/**
 * One local service per data folder: two would share one PGlite database without sharing its
 * single session, and overwrite each other's emulator state. The lock names the owner's pid.
 */
const lockedHere = new Set<string>();

function lockDataFolder(dataDir: string): () => void {
  const path = join(dataDir, 'lock');
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
  } catch {
    const owner = Number(readFileSync(path, 'utf8'));
    let alive = false;
    // Our own pid holds it only if this process locked it: a lock left by a killed container
    // whose pid was also 1 (as ours may be) is stale.
    try { alive = owner > 0 && (owner === process.pid ? lockedHere.has(dataDir) : process.kill(owner, 0)); } catch { /* no such process */ }
    if (alive) throw new ConfigError([`Another local-mode service (process ${owner}) uses ${dataDir}: stop it, or give this one its own PGLITE_DATA_DIR`]);
    writeFileSync(path, String(process.pid));
  }
  lockedHere.add(dataDir);
  return () => {
    lockedHere.delete(dataDir);
    if (existsSync(path) && readFileSync(path, 'utf8') === String(process.pid)) rmSync(path);
  };
}

/** Starts the Entra emulator on its earlier port when free, so earlier tokens keep their issuer. */
async function startLocalEntra(state: LocalState, save: () => void): Promise<EntraEmulator> {
  const options = {
    tls: true, // MSAL (the Teams on-behalf-of flow) accepts https:// authorities only
    tenantId: LOCAL_TENANTS.contoso,
    clientId: LOCAL_CLIENT_ID,
    clientSecret: state.clientSecret,
    signingKey: state.signingKey,
  };
  let entra: EntraEmulator;
  try {
    entra = await startEntraEmulator({ ...options, port: state.entraPort ?? 0 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    entra = await startEntraEmulator(options);
  }
  state.entraPort = Number(new URL(entra.authorityHost).port);
  save();
  return entra;
}

/** The emulators' state in `<data>/emulators.json`, written atomically (write, then rename). */
function stateStore(dataDir: string | undefined): { state: LocalState; save: () => void } {
  const path = dataDir && join(dataDir, 'emulators.json');
  const state = path && existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as LocalState) : newState();
  const save = () => {
    if (!path) return;
    writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  };
  save();
  return { state, save };
}

export interface LocalEnvironment {
  config: Config;
  entra: EntraEmulator;
  acs: AcsEmulator;
  /** Where data lives, in words, for the banner. */
  storage: string;
  /** Whether users are kept across restarts (false: an embedded database in memory only). */
  kept: boolean;
  /** Where the service's log lines go: standard output, as readable lines rather than JSON. */
  logStream: LogSink;
  /**
   * Makes the ACS emulator know every identity the database maps or still has to delete, so
   * that a stored mapping never points at an identity it does not know (its state file may be
   * gone while the database stayed, or DATABASE_URL points at a database of an earlier run).
   */
  adoptStoredIdentities(pool: pg.Pool): Promise<void>;
  close(): Promise<void>;
}

/** LOCAL_ACS_TOKEN_SECONDS, checked: a whole number of seconds, at least 5. */
function localTokenSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 5) throw new ConfigError([`LOCAL_ACS_TOKEN_SECONDS must be a whole number of seconds, at least 5 (not ${value})`]);
  return seconds;
}

/**
 * Local mode with DATABASE_URL: refused, before anything is migrated or written, when that
 * database holds identities or queued deletions of another ACS resource (a loopback address
 * may be a tunnel or PgBouncer in front of a real service's database). Works on any schema
 * version: before acs_resource, local mode's rows are known by their emulator's resource id.
 */
async function refuseForeignDatabase(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rows: tables } = await client.query<{ table_name: string; resource: boolean }>(
      `SELECT table_name, bool_or(column_name = 'acs_resource') AS resource FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name IN ('acs_identities', 'acs_identity_deletions')
        GROUP BY table_name`);
    let foreign = 0;
    for (const { table_name: table, resource } of tables) {
      const { rows } = await client.query<{ n: number }>(resource
        ? { text: `SELECT count(*)::int AS n FROM ${table} WHERE acs_resource <> $1`, values: [LOCAL_ACS_RESOURCE] }
        : { text: `SELECT count(*)::int AS n FROM ${table} WHERE acs_user_id NOT LIKE $1`, values: [`8:acs:${LOCAL_ACS_RESOURCE_ID}\\_%`] });
      foreign += rows[0]!.n;
    }
    if (foreign > 0) {
      throw new ConfigError([`DATABASE_URL holds ${foreign} ACS identities or queued deletions of another ACS resource than local mode's emulator: local mode does not use, migrate or change a real service's database. Give local mode a database of its own (or unset DATABASE_URL for the embedded one), or set the Azure settings to run as that service`]);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startLocalEnvironment(env: NodeJS.ProcessEnv): Promise<LocalEnvironment> {
  const refusals = localModeRefusals(env);
  if (refusals.length > 0) throw new ConfigError(refusals);
  // An Entra token would come from Azure, which local mode does not use.
  if (env.DATABASE_URL && env.DATABASE_AUTH === 'entra') {
    throw new ConfigError(['DATABASE_AUTH=entra is for Azure\'s database: local mode signs in to DATABASE_URL with its own password. Unset DATABASE_AUTH (or DATABASE_URL, for the embedded database)']);
  }
  if (env.DATABASE_URL) await refuseForeignDatabase(env.DATABASE_URL);
  const dataSetting = env.PGLITE_DATA_DIR || '.data';
  const dataDir = dataSetting === 'memory://' ? undefined : resolve(dataSetting);
  if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const unlock = dataDir ? lockDataFolder(dataDir) : () => undefined;
  const { state, save } = stateStore(dataDir);
  if (!state.auditHashKey) {
    state.auditHashKey = randomBytes(32).toString('base64url');
    save();
  }

  const entra = await startLocalEntra(state, save);
  const acs = await startAcsEmulator({
    resourceName: LOCAL_ACS_RESOURCE_ID,
    accessKey: state.acs.accessKey,
    identities: state.acs.identities,
    onIdentitiesChange: (ids) => {
      state.acs.identities = ids;
      save();
    },
    // LOCAL_ACS_TOKEN_SECONDS: short-lived ACS tokens, so that the demo's refresh shows soon.
    ...(env.LOCAL_ACS_TOKEN_SECONDS ? { tokenLifetimeSeconds: localTokenSeconds(env.LOCAL_ACS_TOKEN_SECONDS) } : {}),
  });
  const embedded = env.DATABASE_URL ? undefined : await startEmbeddedDatabase(dataDir && join(dataDir, 'pglite'));

  const base = loadConfig({
    ...env,
    // Loopback unless asked otherwise: local mode hands out tokens to whoever asks.
    HOST: env.HOST || '127.0.0.1',
    DATABASE_URL: env.DATABASE_URL || embedded!.url,
    DATABASE_POOL_MAX: embedded ? '1' : env.DATABASE_POOL_MAX,
    MIGRATE_ON_START: 'true',
    // One role migrates and serves here (PGlite has only one), signing in with DATABASE_URL's
    // password: the role and Entra sign-in of a deployment's .env do not apply.
    DATABASE_SERVICE_ROLE: undefined,
    DATABASE_SERVICE_ROLE_OBJECT_ID: undefined,
    DATABASE_AUTH: undefined,
    DATABASE_CREDENTIAL_CLIENT_ID: undefined,
    ACS_CONNECTION_STRING: acs.connectionString,
    AZURE_TENANT_ID: LOCAL_TENANTS.contoso,
    AUTH_ALLOWED_TENANTS: LOCAL_TENANTS.fabrikam,
    AZURE_CLIENT_ID: LOCAL_CLIENT_ID,
    AZURE_CLIENT_SECRET: state.clientSecret,
    AZURE_AUTHORITY_HOST: entra.authorityHost,
    // The emulator's generic OpenID Connect issuer too (/local/token?issuer=oidc), unless the
    // developer lists issuers of their own.
    AUTH_ISSUERS: env.AUTH_ISSUERS || JSON.stringify([{ issuer: entra.oidc.issuer, audience: entra.oidc.audience, algorithms: [entra.oidc.algorithm] }]),
    AUDIT_HASH_KEY: env.AUDIT_HASH_KEY || state.auditHashKey,
    // No load shedding unless asked: the emulators (and PGlite) share this process's event loop.
    OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: env.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS || '0',
  });
  const config: Config = {
    ...base,
    databaseSingleSession: embedded !== undefined,
    // The emulator's endpoint changes port at every start: its rows are named `local` instead.
    acs: { ...base.acs, resource: LOCAL_ACS_RESOURCE },
    auth: { ...base.auth, authorityCa: entra.caCertificate },
  };

  return {
    config,
    entra,
    acs,
    storage: embedded
      ? (dataDir ? `embedded PostgreSQL (PGlite), data in ${dataDir}` : 'embedded PostgreSQL (PGlite), in memory only')
      : 'PostgreSQL at DATABASE_URL',
    kept: embedded === undefined || dataDir !== undefined,
    logStream: prettyLogStream(),
    async adoptStoredIdentities(pool) {
      const { rows } = await pool.query<{ acs_user_id: string }>(
        'SELECT acs_user_id FROM acs_identities WHERE acs_resource = $1 UNION SELECT acs_user_id FROM acs_identity_deletions WHERE acs_resource = $1',
        [LOCAL_ACS_RESOURCE]);
      acs.adoptIdentities(rows.map((row) => row.acs_user_id));
    },
    async close() {
      await Promise.all([entra.close(), acs.close()]);
      await embedded?.close();
      unlock();
    },
  };
}
