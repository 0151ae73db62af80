// Configuration: read from the environment once at start, validated, and turned into a typed,
// frozen object. Every variable is documented in .env.example.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { envSchema } from 'env-schema';
import { ACS_SCOPES, MAX_TOKEN_TTL_MINUTES, MIN_TOKEN_TTL_MINUTES, type AcsScope } from './acs/acsScopes.js';
import { parseAuthIssuers, type OidcIssuerConfig } from './auth/issuersConfig.js';
import type { TrustProxySetting } from './trustProxy.js';
import { ROLE_NAME_PATTERN } from './db/serviceRole.js';

export interface AcsConfig {
  /** With an access key; undefined when ACS is reached with an Entra credential instead. */
  connectionString: string | undefined;
  /** The ACS endpoint (validated: https, or http on loopback). */
  endpoint: URL;
  /** Names the ACS resource in the database's rows: the endpoint's host name (local mode: `local`). */
  resource: string;
  /**
   * Without an access key: the client id of the managed (or workload) identity that calls ACS.
   * Needed because AZURE_CLIENT_ID, which @azure/identity would read, is this service's app.
   */
  credentialClientId: string | undefined;
  defaultScopes: AcsScope[];
  allowedScopes: AcsScope[];
  tokenTtlMinutes: number;
  autoCreateIdentity: boolean;
  /** Bound on one ACS operation, retries included. */
  requestTimeoutMs: number;
  /** How long an issued ACS token may be served again to the same identity (0: never). */
  tokenReuseSeconds: number;
  /** Retries of an idempotent call that failed for a passing reason (never of a creation). */
  maxRetries: number;
  circuitBreaker: { threshold: number; cooldownMs: number };
}

export interface AuthConfig {
  /** e.g. https://login.microsoftonline.com, without a trailing slash. */
  authorityHost: string;
  /** Tenants (GUIDs, lower case) whose users may call the API. */
  allowedTenants: string[];
  clientId: string;
  clientSecret: string | undefined;
  /** Teams tokens obtained on behalf of users kept for reuse, per process (TEAMS_OBO_CACHE_SIZE). */
  oboCacheSize: number;
  /** Accepted `aud` values: the client id plus AUTH_AUDIENCE. */
  audiences: string[];
  requiredScope: string;
  clockToleranceSeconds: number;
  /** Minimum time between two key-set refreshes caused by an unknown `kid`. */
  unknownKeyRefreshCooldownSeconds: number;
  /** PEM CA certificates that the authority's TLS certificate must chain to, when not the system's. */
  authorityCa: string | undefined;
  /** OpenID Connect issuers trusted beside Entra ID (AUTH_ISSUERS). */
  issuers: OidcIssuerConfig[];
}

export interface Config {
  port: number;
  host: string;
  logLevel: string;
  databaseUrl: string;
  databasePoolMax: number;
  databaseTimeoutMs: number;
  /** The database is one session behind a socket (local mode's PGlite): see createPool. */
  databaseSingleSession: boolean;
  migrateOnStart: boolean;
  /** The service's own database role, granted its rights whenever migrations run (serviceRole.ts). */
  databaseServiceRole: string | undefined;
  /** Serve /healthz and /readyz on this port instead of the API's (undefined: the API's). */
  probePort: number | undefined;
  /** On SIGTERM, how long to keep serving with /readyz at 503 before closing. */
  shutdownDelayMs: number;
  /** Limits of the HTTP server: how many connections, and how long a client may take. */
  http: {
    /** Connections open at once; beyond it, a new connection is closed at once. */
    maxConnections: number;
    /** Bound on receiving a request's headers, from its first byte (or the connection's start). */
    headersTimeoutMs: number;
    /** Bound on receiving a whole request, headers and body. */
    requestTimeoutMs: number;
    /** How long an idle keep-alive connection is kept (longer than load balancers' idle timeouts). */
    keepAliveTimeoutMs: number;
  };
  deletions: {
    /** How often a replica looks for queued ACS deletions that are due. */
    retryIntervalSeconds: number;
    /** At most how many due deletions one retry pass tries (one claim at a time). */
    batchSize: number;
    /** How long a claimed deletion belongs to the replica trying it: one ACS call must fit. */
    leaseSeconds: number;
  };
  acs: AcsConfig;
  auth: AuthConfig;
  audit: {
    /** Key of the HMAC that stands for a user in the audit trail and logs. */
    hashKey: string;
    retentionDays: number;
    flushIntervalMs: number;
  };
  rateLimits: {
    windowSeconds: number;
    /** Requests per window from one client IP, before authentication (all /api routes). */
    ipMax: number;
    /** Requests per window from one user, after authentication. */
    userMax: number;
    /** ACS calls (create, issue, revoke, delete, Teams exchange) per minute from one user, apart from userMax. */
    acsCallsPerUserPerMinute: number;
    redisUrl: string | undefined;
    redisPrefix: string;
  };
  /**
   * Which connections may name the client in X-Forwarded-For (TRUST_PROXY): none, those of the
   * proxies at these addresses/CIDR ranges, or any, through this many proxy hops.
   */
  trustProxy: TrustProxySetting;
  /** Browser origins allowed to call the API (CORS); empty: none. */
  corsOrigins: string[];
  /** The demo page at /demo (always on in local mode). */
  demo: { enabled: boolean; clientId: string | undefined; apiScope: string | undefined };
  /** /docs and /openapi.json; the server "Try it out" calls (undefined: the page's own origin). */
  docs: { enabled: boolean; publicBaseUrl: string | undefined };
  metrics: {
    /** Serve /metrics on this port instead of the API's (undefined: the API's). */
    port: number | undefined;
    host: string;
    /** When set, /metrics needs `Authorization: Bearer <token>`. */
    token: string | undefined;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

// Deletions one replica tries per pass; well inside ACS's 500 deletions per 30 s.
const DELETION_BATCH_SIZE = 100;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** True for hosts that never leave this machine: http:// is allowed only to them. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

const envJsonSchema = {
  type: 'object',
  required: ['DATABASE_URL', 'AZURE_CLIENT_ID'],
  properties: {
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 3000 },
    HOST: { type: 'string', minLength: 1, default: '0.0.0.0' },
    LOG_LEVEL: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    DATABASE_URL: { type: 'string', pattern: '^postgres(ql)?://' },
    DATABASE_POOL_MAX: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
    DATABASE_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 60000, default: 5000 },
    MIGRATE_ON_START: { type: 'boolean', default: false },
    DATABASE_SERVICE_ROLE: { type: 'string', pattern: ROLE_NAME_PATTERN },
    SHUTDOWN_DELAY_MS: { type: 'integer', minimum: 0, maximum: 60000, default: 0 },
    HTTP_MAX_CONNECTIONS: { type: 'integer', minimum: 1, maximum: 100000, default: 1000 },
    HTTP_HEADERS_TIMEOUT_MS: { type: 'integer', minimum: 1000, maximum: 60000, default: 10000 },
    HTTP_REQUEST_TIMEOUT_MS: { type: 'integer', minimum: 1000, maximum: 300000, default: 30000 },
    HTTP_KEEP_ALIVE_TIMEOUT_MS: { type: 'integer', minimum: 1000, maximum: 600000, default: 72000 },
    METRICS_PORT: { type: 'integer', minimum: 0, maximum: 65535 },
    PROBE_PORT: { type: 'integer', minimum: 0, maximum: 65535 },
    RATE_LIMIT_WINDOW_SECONDS: { type: 'integer', minimum: 1, maximum: 3600, default: 60 },
    RATE_LIMIT_IP_MAX: { type: 'integer', minimum: 1, maximum: 1000000, default: 600 },
    RATE_LIMIT_USER_MAX: { type: 'integer', minimum: 1, maximum: 1000000, default: 120 },
    ACS_CALLS_PER_USER_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 100000, default: 10 },
    REDIS_URL: { type: 'string', pattern: '^rediss?://' },
    RATE_LIMIT_REDIS_PREFIX: { type: 'string', minLength: 1, default: 'acs-token-service-rl:' },
    TRUST_PROXY: { type: 'string', default: 'false' },
    CORS_ORIGINS: { type: 'string' },
    DEMO_ENABLED: { type: 'boolean', default: false },
    DEMO_CLIENT_ID: { type: 'string', minLength: 1 },
    DEMO_API_SCOPE: { type: 'string', pattern: '^\\S+$' },
    DOCS_ENABLED: { type: 'boolean', default: true },
    PUBLIC_BASE_URL: { type: 'string', minLength: 1 },
    AUDIT_HASH_KEY: { type: 'string', minLength: 16 },
    AUDIT_RETENTION_DAYS: { type: 'integer', minimum: 1, maximum: 3650, default: 90 },
    AUDIT_FLUSH_INTERVAL_MS: { type: 'integer', minimum: 10, maximum: 60000, default: 1000 },
    METRICS_TOKEN: { type: 'string', minLength: 16 },
    ACS_CONNECTION_STRING: { type: 'string', minLength: 1 },
    ACS_ENDPOINT: { type: 'string', minLength: 1 },
    ACS_CREDENTIAL_CLIENT_ID: { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' },
    ACS_TOKEN_SCOPES: { type: 'string', default: 'chat,voip' },
    ACS_ALLOWED_SCOPES: { type: 'string' },
    ACS_TOKEN_TTL_MINUTES: { type: 'integer', minimum: MIN_TOKEN_TTL_MINUTES, maximum: MAX_TOKEN_TTL_MINUTES, default: 60 },
    ACS_AUTO_CREATE_IDENTITY: { type: 'boolean', default: true },
    ACS_REQUEST_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 60000, default: 5000 },
    ACS_MAX_RETRIES: { type: 'integer', minimum: 0, maximum: 5, default: 2 },
    ACS_TOKEN_REUSE_SECONDS: { type: 'integer', minimum: 0, maximum: 3600, default: 300 },
    ACS_CIRCUIT_BREAKER_THRESHOLD: { type: 'integer', minimum: 1, maximum: 1000, default: 5 },
    ACS_CIRCUIT_BREAKER_COOLDOWN_SECONDS: { type: 'integer', minimum: 1, maximum: 600, default: 10 },
    ACS_DELETION_RETRY_INTERVAL_SECONDS: { type: 'integer', minimum: 1, maximum: 3600, default: 30 },
    AZURE_TENANT_ID: { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' },
    AUTH_ALLOWED_TENANTS: { type: 'string' },
    AZURE_CLIENT_ID: { type: 'string', minLength: 1 },
    AZURE_CLIENT_SECRET: { type: 'string' },
    TEAMS_OBO_CACHE_SIZE: { type: 'integer', minimum: 0, maximum: 100000, default: 1000 },
    AZURE_AUTHORITY_HOST: { type: 'string', pattern: '^https?://[^/?#]+/?$', default: 'https://login.microsoftonline.com' },
    AUTH_AUDIENCE: { type: 'string' },
    AUTH_REQUIRED_SCOPE: { type: 'string', pattern: '^[^\\s]+$', default: 'access_as_user' },
    AUTH_CLOCK_TOLERANCE_SECONDS: { type: 'integer', minimum: 0, maximum: 300, default: 120 },
    AUTH_KEY_REFRESH_COOLDOWN_SECONDS: { type: 'integer', minimum: 1, maximum: 10, default: 5 },
    AZURE_AUTHORITY_CA_FILE: { type: 'string' },
    AUTH_ISSUERS: { type: 'string' },
  },
} as const;

type RawEnv = {
  PORT: number; HOST: string; LOG_LEVEL: string; DATABASE_URL: string; DATABASE_POOL_MAX: number;
  DATABASE_TIMEOUT_MS: number; MIGRATE_ON_START: boolean; DATABASE_SERVICE_ROLE?: string; SHUTDOWN_DELAY_MS: number;
  HTTP_MAX_CONNECTIONS: number; HTTP_HEADERS_TIMEOUT_MS: number; HTTP_REQUEST_TIMEOUT_MS: number; HTTP_KEEP_ALIVE_TIMEOUT_MS: number;
  METRICS_PORT?: number; PROBE_PORT?: number; METRICS_TOKEN?: string; AUDIT_HASH_KEY?: string; AUDIT_RETENTION_DAYS: number;
  AUDIT_FLUSH_INTERVAL_MS: number; RATE_LIMIT_WINDOW_SECONDS: number; RATE_LIMIT_IP_MAX: number;
  RATE_LIMIT_USER_MAX: number; ACS_CALLS_PER_USER_PER_MINUTE: number; REDIS_URL?: string; RATE_LIMIT_REDIS_PREFIX: string; TRUST_PROXY: string; CORS_ORIGINS?: string; ACS_CONNECTION_STRING?: string; ACS_ENDPOINT?: string; ACS_CREDENTIAL_CLIENT_ID?: string;
  ACS_TOKEN_SCOPES: string; ACS_ALLOWED_SCOPES?: string; ACS_TOKEN_TTL_MINUTES: number;
  ACS_AUTO_CREATE_IDENTITY: boolean; ACS_REQUEST_TIMEOUT_MS: number; ACS_MAX_RETRIES: number; ACS_TOKEN_REUSE_SECONDS: number;
  ACS_CIRCUIT_BREAKER_THRESHOLD: number; ACS_CIRCUIT_BREAKER_COOLDOWN_SECONDS: number;
  ACS_DELETION_RETRY_INTERVAL_SECONDS: number; AZURE_TENANT_ID?: string;
  AUTH_ALLOWED_TENANTS?: string; AZURE_CLIENT_ID: string; AZURE_CLIENT_SECRET?: string; TEAMS_OBO_CACHE_SIZE: number;
  AZURE_AUTHORITY_HOST: string; AUTH_AUDIENCE?: string; AUTH_REQUIRED_SCOPE: string;
  AUTH_CLOCK_TOLERANCE_SECONDS: number; AUTH_KEY_REFRESH_COOLDOWN_SECONDS: number;
  AZURE_AUTHORITY_CA_FILE?: string; AUTH_ISSUERS?: string;
  DEMO_ENABLED: boolean; DEMO_CLIENT_ID?: string; DEMO_API_SCOPE?: string;
  DOCS_ENABLED: boolean; PUBLIC_BASE_URL?: string;
};

/** Turns Ajv's messages into one line per variable, e.g. "DATABASE_URL is required". */
function describeSchemaErrors(errors: Array<{ instancePath: string; message?: string; params: Record<string, unknown> }>): string[] {
  return errors.map((e) => {
    if (e.params.missingProperty) return `${String(e.params.missingProperty)} is required`;
    return `${e.instancePath.replace(/^\//, '')} ${e.message ?? 'is invalid'}`;
  });
}

function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function parseScopes(name: string, value: string, problems: string[]): AcsScope[] {
  const scopes = splitList(value);
  const unknown = scopes.filter((s) => !(ACS_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) problems.push(`${name} has unknown ACS scopes: ${unknown.join(', ')} (known: ${ACS_SCOPES.join(', ')})`);
  if (scopes.length === 0) problems.push(`${name} must name at least one ACS scope`);
  return scopes as AcsScope[];
}

// Settings that may come from a file instead (NAME_FILE), as Kubernetes mounts secrets and
// config maps: the secrets, and AUTH_ISSUERS, a JSON document.
const SECRET_FILE_VARIABLES = ['DATABASE_URL', 'ACS_CONNECTION_STRING', 'AZURE_CLIENT_SECRET', 'AUDIT_HASH_KEY', 'METRICS_TOKEN', 'AUTH_ISSUERS'];

/** Every environment variable the service reads (for checks of deployment manifests). */
export const CONFIG_VARIABLES: readonly string[] = [
  ...Object.keys(envJsonSchema.properties),
  ...SECRET_FILE_VARIABLES.map((name) => `${name}_FILE`),
  'NODE_ENV', 'LOCAL_MODE', 'PGLITE_DATA_DIR', 'LOCAL_ACS_TOKEN_SECONDS',
];

function readSecretFiles(env: Record<string, string | undefined>, problems: string[]): void {
  for (const name of SECRET_FILE_VARIABLES) {
    const path = env[`${name}_FILE`];
    if (!path) continue;
    if (env[name]) {
      problems.push(`Set ${name} or ${name}_FILE, not both`);
      continue;
    }
    try {
      env[name] = readFileSync(path, 'utf8').trim();
    } catch (error) {
      problems.push(`${name}_FILE (${path}) cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
}

/** The rule for every URL the service calls or advertises: https, or http on a loopback host. */
function isHttpsOrLoopbackHttp(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

function checkAcsEndpoint(url: URL, name: string, problems: string[]): URL {
  if (!isHttpsOrLoopbackHttp(url)) {
    problems.push(`${name} endpoint must be https:// (http:// only on a loopback host)`);
  }
  return url;
}

/** ACS is reached with a connection string (access key), or at ACS_ENDPOINT with an Entra credential. */
function parseAcs(raw: { ACS_CONNECTION_STRING?: string; ACS_ENDPOINT?: string }, problems: string[]): URL {
  if (raw.ACS_CONNECTION_STRING && raw.ACS_ENDPOINT) {
    problems.push('Set ACS_CONNECTION_STRING (access key) or ACS_ENDPOINT (Entra credential), not both');
  }
  if (raw.ACS_CONNECTION_STRING) return parseAcsEndpoint(raw.ACS_CONNECTION_STRING, problems);
  if (!raw.ACS_ENDPOINT) {
    problems.push('ACS_CONNECTION_STRING (or ACS_ENDPOINT) is required');
    return new URL('https://invalid.invalid');
  }
  try {
    return checkAcsEndpoint(new URL(raw.ACS_ENDPOINT), 'ACS_ENDPOINT', problems);
  } catch {
    problems.push('ACS_ENDPOINT is not a URL');
    return new URL('https://invalid.invalid');
  }
}

/** Reads `endpoint=…;accesskey=…` and checks the endpoint's scheme. */
function parseAcsEndpoint(connectionString: string, problems: string[]): URL {
  const parts = new Map(
    connectionString.split(';').filter(Boolean).map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i).trim().toLowerCase(), kv.slice(i + 1).trim()] as const;
    }),
  );
  const endpoint = parts.get('endpoint');
  const fallback = new URL('https://invalid.invalid');
  if (!endpoint || !parts.get('accesskey')) {
    problems.push('ACS_CONNECTION_STRING must look like endpoint=https://<resource>.communication.azure.com/;accesskey=<key>');
    return fallback;
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    problems.push('ACS_CONNECTION_STRING has an endpoint that is not a URL');
    return fallback;
  }
  return checkAcsEndpoint(url, 'ACS_CONNECTION_STRING', problems);
}

/** Why `entry` of TRUST_PROXY is not an IP address or CIDR range; undefined when it is one. */
function proxyAddressProblem(entry: string): string | undefined {
  const [address = '', prefix, ...more] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || more.length > 0) {
    return `TRUST_PROXY entry "${entry}" is not an IP address or CIDR range (e.g. 10.0.0.7, 10.240.0.0/16, fd00::/64)`;
  }
  const bits = family === 4 ? 32 : 128;
  if (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= bits)) {
    // A /0 would trust every address, as TRUST_PROXY=true would.
    return `TRUST_PROXY entry "${entry}" needs a prefix length from 1 to ${bits}`;
  }
  return undefined;
}

/** false, a number of proxy hops, or a list of proxy addresses/CIDRs (each checked). */
function parseTrustProxy(value: string, problems: string[]): TrustProxySetting {
  if (value === 'false') return false;
  if (value === 'true') {
    // Trusting every hop lets a client pick its own IP: proxies append to X-Forwarded-For.
    problems.push('TRUST_PROXY=true would let clients choose their IP (proxies append to X-Forwarded-For): give the proxies\' addresses, or the number of proxy hops');
    return false;
  }
  if (/^\d+$/.test(value)) return Number(value) === 0 ? false : Number(value);
  const list = splitList(value);
  if (list.length === 0) problems.push('TRUST_PROXY must be false, a list of proxy addresses or a number of proxy hops');
  for (const entry of list) {
    const problem = proxyAddressProblem(entry);
    if (problem) problems.push(problem);
  }
  return list;
}

/** PUBLIC_BASE_URL without its trailing slash: https, or http on a loopback host; no query or fragment. */
function parsePublicBaseUrl(value: string | undefined, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push('PUBLIC_BASE_URL is not a URL');
    return undefined;
  }
  if (!isHttpsOrLoopbackHttp(url)) {
    problems.push('PUBLIC_BASE_URL must be https:// (http:// only on a loopback host)');
  }
  if (url.search || url.hash || value.includes('?') || value.includes('#')) problems.push('PUBLIC_BASE_URL must have no query or fragment');
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

function readCertificates(path: string, problems: string[]): string | undefined {
  try {
    const pem = readFileSync(path, 'utf8');
    if (pem.includes('-----BEGIN CERTIFICATE-----')) return pem;
    problems.push(`AZURE_AUTHORITY_CA_FILE (${path}) holds no PEM certificate`);
  } catch (error) {
    problems.push(`AZURE_AUTHORITY_CA_FILE (${path}) cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return undefined;
}

export function loadConfig(processEnv: NodeJS.ProcessEnv = process.env): Config {
  // `NAME=` (as in a copied .env.example) means "not set", not "set to nothing".
  const env: Record<string, string | undefined> = Object.fromEntries(Object.entries(processEnv).filter(([, value]) => value !== undefined && value !== ''));
  const problems: string[] = [];
  readSecretFiles(env, problems);
  // Checked apart from the schema so that a missing tenant is named with the other problems.
  const allowedTenants = [...new Set([
    ...(env.AZURE_TENANT_ID ? [env.AZURE_TENANT_ID] : []),
    ...splitList(env.AUTH_ALLOWED_TENANTS),
  ].map((t) => t.toLowerCase()))];
  if (allowedTenants.length === 0) problems.push('AZURE_TENANT_ID (or AUTH_ALLOWED_TENANTS) is required');
  for (const t of splitList(env.AUTH_ALLOWED_TENANTS)) if (!GUID.test(t)) problems.push(`AUTH_ALLOWED_TENANTS entry "${t}" is not a tenant GUID`);

  let raw: RawEnv;
  try {
    // A copy: env-schema writes defaults into the object it validates.
    raw = envSchema<RawEnv>({ schema: envJsonSchema, data: { ...env }, dotenv: false });
  } catch (error) {
    const errors = (error as { errors?: Parameters<typeof describeSchemaErrors>[0] }).errors;
    if (!env.ACS_CONNECTION_STRING && !env.ACS_ENDPOINT) problems.push('ACS_CONNECTION_STRING (or ACS_ENDPOINT) is required');
    throw new ConfigError([...(errors ? describeSchemaErrors(errors) : [(error as Error).message]), ...problems]);
  }

  const authorityHost = raw.AZURE_AUTHORITY_HOST.replace(/\/$/, '');
  const authorityUrl = new URL(authorityHost);
  if (!isHttpsOrLoopbackHttp(authorityUrl)) {
    problems.push('AZURE_AUTHORITY_HOST must be https:// (http:// only on a loopback host)');
  }

  const defaultScopes = parseScopes('ACS_TOKEN_SCOPES', raw.ACS_TOKEN_SCOPES, problems);
  const allowedScopes = raw.ACS_ALLOWED_SCOPES === undefined ? defaultScopes : parseScopes('ACS_ALLOWED_SCOPES', raw.ACS_ALLOWED_SCOPES, problems);
  const notAllowed = defaultScopes.filter((s) => !allowedScopes.includes(s));
  if (notAllowed.length > 0) problems.push(`ACS_TOKEN_SCOPES has scopes that ACS_ALLOWED_SCOPES does not allow: ${notAllowed.join(', ')}`);

  if (env.NODE_ENV === 'production' && raw.METRICS_TOKEN === undefined && raw.METRICS_PORT === undefined) {
    problems.push('In production, /metrics must not be public on the API port: set METRICS_PORT (a port of its own) or METRICS_TOKEN');
  }
  if (env.NODE_ENV === 'production' && !raw.AUDIT_HASH_KEY) problems.push('AUDIT_HASH_KEY is required in production (it keeps users\' audit hashes stable across restarts and replicas)');
  const endpoint = parseAcs(raw, problems);
  if (raw.ACS_CREDENTIAL_CLIENT_ID && raw.ACS_CONNECTION_STRING) problems.push('ACS_CREDENTIAL_CLIENT_ID is for ACS_ENDPOINT (an Entra credential), not with ACS_CONNECTION_STRING');
  const trustProxy = parseTrustProxy(raw.TRUST_PROXY, problems);
  const corsOrigins = splitList(raw.CORS_ORIGINS);
  for (const origin of corsOrigins) {
    if (origin === '*' || !/^https?:\/\/[^/]+$/.test(origin)) problems.push(`CORS_ORIGINS entry "${origin}" must be an origin like https://app.example.com (no *, no path)`);
  }
  const issuers = parseAuthIssuers(raw.AUTH_ISSUERS, isLoopbackHost, problems);
  for (const { issuer } of issuers) {
    if (allowedTenants.some((tenant) => issuer.replace(/\/$/, '') === `${authorityHost}/${tenant}/v2.0`)) {
      problems.push(`AUTH_ISSUERS: ${issuer} is an Entra ID tenant of AZURE_TENANT_ID/AUTH_ALLOWED_TENANTS already; list it in one place only`);
    }
  }
  if (raw.PROBE_PORT !== undefined && raw.PROBE_PORT !== 0 && (raw.PROBE_PORT === raw.PORT || raw.PROBE_PORT === raw.METRICS_PORT)) {
    problems.push(`PROBE_PORT (${raw.PROBE_PORT}) must be a port of its own, not PORT or METRICS_PORT`);
  }
  if (raw.HTTP_HEADERS_TIMEOUT_MS > raw.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(`HTTP_HEADERS_TIMEOUT_MS (${raw.HTTP_HEADERS_TIMEOUT_MS}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${raw.HTTP_REQUEST_TIMEOUT_MS}): the headers are part of the request`);
  }
  const publicBaseUrl = parsePublicBaseUrl(raw.PUBLIC_BASE_URL, problems);
  const authorityCa = raw.AZURE_AUTHORITY_CA_FILE === undefined ? undefined : readCertificates(raw.AZURE_AUTHORITY_CA_FILE, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    port: raw.PORT,
    host: raw.HOST,
    logLevel: raw.LOG_LEVEL,
    databaseUrl: raw.DATABASE_URL,
    databasePoolMax: raw.DATABASE_POOL_MAX,
    databaseTimeoutMs: raw.DATABASE_TIMEOUT_MS,
    databaseSingleSession: false,
    migrateOnStart: raw.MIGRATE_ON_START,
    databaseServiceRole: raw.DATABASE_SERVICE_ROLE || undefined,
    shutdownDelayMs: raw.SHUTDOWN_DELAY_MS,
    probePort: raw.PROBE_PORT,
    http: Object.freeze({
      maxConnections: raw.HTTP_MAX_CONNECTIONS,
      headersTimeoutMs: raw.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: raw.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: raw.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    }),
    metrics: Object.freeze({ port: raw.METRICS_PORT, host: raw.HOST, token: raw.METRICS_TOKEN }),
    rateLimits: Object.freeze({
      windowSeconds: raw.RATE_LIMIT_WINDOW_SECONDS,
      ipMax: raw.RATE_LIMIT_IP_MAX,
      userMax: raw.RATE_LIMIT_USER_MAX,
      acsCallsPerUserPerMinute: raw.ACS_CALLS_PER_USER_PER_MINUTE,
      redisUrl: raw.REDIS_URL,
      redisPrefix: raw.RATE_LIMIT_REDIS_PREFIX,
    }),
    trustProxy,
    corsOrigins,
    demo: Object.freeze({ enabled: raw.DEMO_ENABLED, clientId: raw.DEMO_CLIENT_ID, apiScope: raw.DEMO_API_SCOPE }),
    docs: Object.freeze({ enabled: raw.DOCS_ENABLED, publicBaseUrl }),
    audit: Object.freeze({
      // Without a configured key, hashes are stable only for this process's life (said at start).
      hashKey: raw.AUDIT_HASH_KEY ?? randomBytes(32).toString('base64'),
      retentionDays: raw.AUDIT_RETENTION_DAYS,
      flushIntervalMs: raw.AUDIT_FLUSH_INTERVAL_MS,
    }),
    deletions: Object.freeze({
      retryIntervalSeconds: raw.ACS_DELETION_RETRY_INTERVAL_SECONDS,
      batchSize: DELETION_BATCH_SIZE,
      // One claim covers one deletion, so the lease only has to outlast one ACS operation; a
      // replica that dies holding one delays it by this much, no more.
      leaseSeconds: Math.ceil((2 * raw.ACS_REQUEST_TIMEOUT_MS) / 1000) + 5,
    }),
    acs: Object.freeze({
      connectionString: raw.ACS_CONNECTION_STRING,
      endpoint,
      resource: endpoint.hostname.toLowerCase(),
      credentialClientId: raw.ACS_CREDENTIAL_CLIENT_ID,
      defaultScopes,
      allowedScopes,
      tokenTtlMinutes: raw.ACS_TOKEN_TTL_MINUTES,
      autoCreateIdentity: raw.ACS_AUTO_CREATE_IDENTITY,
      requestTimeoutMs: raw.ACS_REQUEST_TIMEOUT_MS,
      maxRetries: raw.ACS_MAX_RETRIES,
      tokenReuseSeconds: raw.ACS_TOKEN_REUSE_SECONDS,
      circuitBreaker: { threshold: raw.ACS_CIRCUIT_BREAKER_THRESHOLD, cooldownMs: raw.ACS_CIRCUIT_BREAKER_COOLDOWN_SECONDS * 1000 },
    }),
    auth: Object.freeze({
      authorityHost,
      allowedTenants,
      clientId: raw.AZURE_CLIENT_ID,
      clientSecret: raw.AZURE_CLIENT_SECRET || undefined,
      oboCacheSize: raw.TEAMS_OBO_CACHE_SIZE,
      audiences: [...new Set([raw.AZURE_CLIENT_ID, ...splitList(raw.AUTH_AUDIENCE)])],
      requiredScope: raw.AUTH_REQUIRED_SCOPE,
      clockToleranceSeconds: raw.AUTH_CLOCK_TOLERANCE_SECONDS,
      unknownKeyRefreshCooldownSeconds: raw.AUTH_KEY_REFRESH_COOLDOWN_SECONDS,
      authorityCa,
      issuers,
    }),
  });
}
