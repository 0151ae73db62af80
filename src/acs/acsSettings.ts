// How the service reaches ACS (a connection string, or an endpoint and an Entra credential),
// what tokens it asks for, and how it bounds and retries each call.
import { Type, type Static } from 'typebox';
import { splitList } from '../shared/commaList.js';
import { GUID_PATTERN } from '../shared/guid.js';
import { HTTPS_OR_LOOPBACK_HTTP, isHttpsOrLoopbackHttp } from '../shared/urlRules.js';
import { ACS_SCOPES, MAX_TOKEN_TTL_MINUTES, MIN_TOKEN_TTL_MINUTES, type AcsScope } from './acsScopes.js';

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

export const acsSettingsSchema = Type.Object({
  ACS_CONNECTION_STRING: Type.Optional(Type.String({ minLength: 1 })),
  ACS_ENDPOINT: Type.Optional(Type.String({ minLength: 1 })),
  ACS_CREDENTIAL_CLIENT_ID: Type.Optional(Type.String({ pattern: GUID_PATTERN })),
  ACS_TOKEN_SCOPES: Type.String({ default: 'chat,voip' }),
  ACS_ALLOWED_SCOPES: Type.Optional(Type.String()),
  ACS_TOKEN_TTL_MINUTES: Type.Integer({ minimum: MIN_TOKEN_TTL_MINUTES, maximum: MAX_TOKEN_TTL_MINUTES, default: 60 }),
  ACS_AUTO_CREATE_IDENTITY: Type.Boolean({ default: true }),
  ACS_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  ACS_MAX_RETRIES: Type.Integer({ minimum: 0, maximum: 5, default: 2 }),
  ACS_TOKEN_REUSE_SECONDS: Type.Integer({ minimum: 0, maximum: 3600, default: 300 }),
  ACS_CIRCUIT_BREAKER_THRESHOLD: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  ACS_CIRCUIT_BREAKER_COOLDOWN_SECONDS: Type.Integer({ minimum: 1, maximum: 600, default: 10 }),
});

type AcsEnv = Static<typeof acsSettingsSchema>;

const ACS_REQUIRED = 'ACS_CONNECTION_STRING (or ACS_ENDPOINT) is required';

/** Neither way to reach ACS is set: named with the schema's problems too. */
export function missingAcsProblem(env: { ACS_CONNECTION_STRING?: string; ACS_ENDPOINT?: string }): string | undefined {
  return env.ACS_CONNECTION_STRING || env.ACS_ENDPOINT ? undefined : ACS_REQUIRED;
}

function parseScopes(name: string, value: string, problems: string[]): AcsScope[] {
  const scopes = splitList(value);
  const unknown = scopes.filter((s) => !(ACS_SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) problems.push(`${name} has unknown ACS scopes: ${unknown.join(', ')} (known: ${ACS_SCOPES.join(', ')})`);
  if (scopes.length === 0) problems.push(`${name} must name at least one ACS scope`);
  return scopes as AcsScope[];
}

function checkAcsEndpoint(url: URL, name: string, problems: string[]): URL {
  if (!isHttpsOrLoopbackHttp(url)) problems.push(`${name} endpoint ${HTTPS_OR_LOOPBACK_HTTP}`);
  return url;
}

/** ACS is reached with a connection string (access key), or at ACS_ENDPOINT with an Entra credential. */
function parseAcs(raw: AcsEnv, problems: string[]): URL {
  if (raw.ACS_CONNECTION_STRING && raw.ACS_ENDPOINT) {
    problems.push('Set ACS_CONNECTION_STRING (access key) or ACS_ENDPOINT (Entra credential), not both');
  }
  if (raw.ACS_CONNECTION_STRING) return parseAcsEndpoint(raw.ACS_CONNECTION_STRING, problems);
  if (!raw.ACS_ENDPOINT) {
    problems.push(ACS_REQUIRED);
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

/** The ACS section; each problem goes to `problems`. */
export function acsSettings(raw: AcsEnv, problems: string[]): AcsConfig {
  const defaultScopes = parseScopes('ACS_TOKEN_SCOPES', raw.ACS_TOKEN_SCOPES, problems);
  const allowedScopes = raw.ACS_ALLOWED_SCOPES === undefined ? defaultScopes : parseScopes('ACS_ALLOWED_SCOPES', raw.ACS_ALLOWED_SCOPES, problems);
  const notAllowed = defaultScopes.filter((s) => !allowedScopes.includes(s));
  if (notAllowed.length > 0) problems.push(`ACS_TOKEN_SCOPES has scopes that ACS_ALLOWED_SCOPES does not allow: ${notAllowed.join(', ')}`);
  const endpoint = parseAcs(raw, problems);
  if (raw.ACS_CREDENTIAL_CLIENT_ID && raw.ACS_CONNECTION_STRING) problems.push('ACS_CREDENTIAL_CLIENT_ID is for ACS_ENDPOINT (an Entra credential), not with ACS_CONNECTION_STRING');

  return Object.freeze({
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
  });
}
