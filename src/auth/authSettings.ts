// Who may call the API and how their tokens are checked: the Entra ID tenants and app, the
// authority, the accepted audiences and scope, and the other issuers (AUTH_ISSUERS).
import { readFileSync } from 'node:fs';
import { Type, type Static } from 'typebox';
import { splitList } from '../shared/commaList.js';
import { GUID, GUID_PATTERN } from '../shared/guid.js';
import { HTTPS_OR_LOOPBACK_HTTP, isHttpsOrLoopbackHttp } from '../shared/urlRules.js';
import { parseAuthIssuers, type OidcIssuerConfig } from './issuersConfig.js';

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

export const authSettingsSchema = Type.Object({
  AZURE_TENANT_ID: Type.Optional(Type.String({ pattern: GUID_PATTERN })),
  AUTH_ALLOWED_TENANTS: Type.Optional(Type.String()),
  AZURE_CLIENT_ID: Type.String({ minLength: 1 }),
  AZURE_CLIENT_SECRET: Type.Optional(Type.String()),
  TEAMS_OBO_CACHE_SIZE: Type.Integer({ minimum: 0, maximum: 100000, default: 1000 }),
  AZURE_AUTHORITY_HOST: Type.String({ pattern: '^https?://[^/?#]+/?$', default: 'https://login.microsoftonline.com' }),
  AUTH_AUDIENCE: Type.Optional(Type.String()),
  AUTH_REQUIRED_SCOPE: Type.String({ pattern: '^[^\\s]+$', default: 'access_as_user' }),
  AUTH_CLOCK_TOLERANCE_SECONDS: Type.Integer({ minimum: 0, maximum: 300, default: 120 }),
  AUTH_KEY_REFRESH_COOLDOWN_SECONDS: Type.Integer({ minimum: 1, maximum: 10, default: 5 }),
  AZURE_AUTHORITY_CA_FILE: Type.Optional(Type.String()),
  AUTH_ISSUERS: Type.Optional(Type.String()),
});

/**
 * The tenants whose users may call (AZURE_TENANT_ID and AUTH_ALLOWED_TENANTS), lower case.
 * Read from the environment before the schema is checked, so that a missing tenant is named
 * with the schema's problems.
 */
export function allowedTenantsOf(env: Record<string, string | undefined>, problems: string[]): string[] {
  const listed = splitList(env.AUTH_ALLOWED_TENANTS);
  const allowedTenants = [...new Set([
    ...(env.AZURE_TENANT_ID ? [env.AZURE_TENANT_ID] : []),
    ...listed,
  ].map((t) => t.toLowerCase()))];
  if (allowedTenants.length === 0) problems.push('AZURE_TENANT_ID (or AUTH_ALLOWED_TENANTS) is required');
  for (const t of listed) if (!GUID.test(t)) problems.push(`AUTH_ALLOWED_TENANTS entry "${t}" is not a tenant GUID`);
  return allowedTenants;
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

/** The auth section; each problem goes to `problems`. */
export function authSettings(raw: Static<typeof authSettingsSchema>, allowedTenants: string[], problems: string[]): AuthConfig {
  const authorityHost = raw.AZURE_AUTHORITY_HOST.replace(/\/$/, '');
  if (!isHttpsOrLoopbackHttp(new URL(authorityHost))) problems.push(`AZURE_AUTHORITY_HOST ${HTTPS_OR_LOOPBACK_HTTP}`);

  const issuers = parseAuthIssuers(raw.AUTH_ISSUERS, problems);
  for (const { issuer } of issuers) {
    if (allowedTenants.some((tenant) => issuer.replace(/\/$/, '') === `${authorityHost}/${tenant}/v2.0`)) {
      problems.push(`AUTH_ISSUERS: ${issuer} is an Entra ID tenant of AZURE_TENANT_ID/AUTH_ALLOWED_TENANTS already; list it in one place only`);
    }
  }
  const authorityCa = raw.AZURE_AUTHORITY_CA_FILE === undefined ? undefined : readCertificates(raw.AZURE_AUTHORITY_CA_FILE, problems);

  return Object.freeze({
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
  });
}
