// Each module's settings section, read as loadConfig reads it (readEnvironment fills the defaults
// and converts the types), then parsed by the section's own function: what config.test.ts does not
// reach through loadConfig — the parsers' edge cases, and values worked out from others.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Static, TObject } from 'typebox';
import { acsSettings, acsSettingsSchema, missingAcsProblem } from '../../src/acs/acsSettings.js';
import { auditSettings, auditSettingsSchema } from '../../src/audit/auditSettings.js';
import { allowedTenantsOf, authSettings, authSettingsSchema } from '../../src/auth/authSettings.js';
import { readEnvironment } from '../../src/config/readEnvironment.js';
import { serverSettings, serverSettingsSchema } from '../../src/config/serverSettings.js';
import { databaseSettings, databaseSettingsSchema } from '../../src/db/databaseSettings.js';
import { deletionSettings, deletionSettingsSchema } from '../../src/identities/deletionSettings.js';
import { metricsSettings, metricsSettingsSchema } from '../../src/plugins/metricsSettings.js';
import { pageSettings, pageSettingsSchema } from '../../src/plugins/pageSettings.js';
import { rateLimitSettings, rateLimitSettingsSchema } from '../../src/plugins/rateLimitSettings.js';

/** `env` checked against one section's schema, as loadConfig checks the whole. */
function read<S extends TObject>(schema: S, env: Record<string, string> = {}): Static<S> {
  const problems: string[] = [];
  const values = readEnvironment(schema, env, problems);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return values;
}

/** The section's value and the problems it named. */
function parsed<T>(parse: (problems: string[]) => T): { value: T; problems: string[] } {
  const problems: string[] = [];
  return { value: parse(problems), problems };
}

const KEY = 'accesskey=a2V5';

t.test('ACS: the connection string\'s parts in any case and spacing; the resource is its host', async (t) => {
  const acs = (env: Record<string, string>) => parsed((problems) => acsSettings(read(acsSettingsSchema, env), problems));
  const { value, problems } = acs({ ACS_CONNECTION_STRING: `Endpoint = https://Res.Communication.Azure.com/ ; AccessKey=a2V5;` });
  t.same(problems, []);
  t.equal(value.endpoint.origin, 'https://res.communication.azure.com');
  t.equal(value.resource, 'res.communication.azure.com');
  t.equal(value.circuitBreaker.cooldownMs, 10_000, 'seconds as milliseconds');
  t.ok(Object.isFrozen(value));

  t.match(acs({ ACS_CONNECTION_STRING: 'endpoint=https://res.communication.azure.com/' }).problems, [/must look like endpoint=/], 'no access key');
  t.match(acs({ ACS_CONNECTION_STRING: `endpoint=not a url;${KEY}` }).problems, [/has an endpoint that is not a URL/]);
  t.match(acs({ ACS_ENDPOINT: 'res.communication.azure.com' }).problems, [/ACS_ENDPOINT is not a URL/]);
  t.match(acs({}).problems, [/ACS_CONNECTION_STRING \(or ACS_ENDPOINT\) is required/]);
  t.equal(acs({ ACS_ENDPOINT: 'http://127.0.0.1:4001' }).value.resource, '127.0.0.1', 'http:// on loopback (the emulator)');
  t.same(acs({ ACS_ENDPOINT: 'https://res.communication.azure.com', ACS_CIRCUIT_BREAKER_COOLDOWN_SECONDS: '30' }).value.circuitBreaker, { threshold: 5, cooldownMs: 30_000 });
});

t.test('ACS scopes: known ones, at least one, the defaults within the allowed', async (t) => {
  const scopes = (env: Record<string, string>) => parsed((problems) => acsSettings(read(acsSettingsSchema, { ACS_ENDPOINT: 'https://r.example.com', ...env }), problems));
  t.match(scopes({ ACS_TOKEN_SCOPES: ' , ' }).problems, [/ACS_TOKEN_SCOPES must name at least one ACS scope/]);
  t.match(scopes({ ACS_ALLOWED_SCOPES: '' }).problems, [/ACS_ALLOWED_SCOPES must name at least one/, /does not allow: chat, voip/]);
  t.same(scopes({ ACS_TOKEN_SCOPES: 'voip', ACS_ALLOWED_SCOPES: 'chat, voip' }).value.allowedScopes, ['chat', 'voip']);
  t.same(scopes({ ACS_TOKEN_SCOPES: 'chat.join,voip.join' }).problems, []);
});

t.test('missingAcsProblem: neither way to reach ACS', async (t) => {
  t.match(missingAcsProblem({}), /is required/);
  t.equal(missingAcsProblem({ ACS_CONNECTION_STRING: 'x' }), undefined);
  t.equal(missingAcsProblem({ ACS_ENDPOINT: 'x' }), undefined);
});

t.test('auth: tenants lower case and once; the authority without its slash; audiences once; a CA file', async (t) => {
  const tenant = '72F988BF-86F1-41AF-91AB-2D7CD011DB47';
  const tenants = parsed((problems) => allowedTenantsOf({ AZURE_TENANT_ID: tenant, AUTH_ALLOWED_TENANTS: `${tenant.toLowerCase()}, ${tenant}` }, problems));
  t.same(tenants, { value: [tenant.toLowerCase()], problems: [] });
  t.match(parsed((problems) => allowedTenantsOf({ AUTH_ALLOWED_TENANTS: ' , ' }, problems)).problems, [/AZURE_TENANT_ID \(or AUTH_ALLOWED_TENANTS\) is required/]);

  const auth = (env: Record<string, string>) => parsed((problems) => authSettings(read(authSettingsSchema, { AZURE_CLIENT_ID: 'api', ...env }), tenants.value, problems));
  const { value, problems } = auth({ AZURE_AUTHORITY_HOST: 'https://login.example.com/', AUTH_AUDIENCE: 'api, api://x,api', AZURE_CLIENT_SECRET: '' });
  t.same(problems, []);
  t.equal(value.authorityHost, 'https://login.example.com');
  t.same(value.audiences, ['api', 'api://x'], 'the client id first, each once');
  t.equal(value.clientSecret, undefined, 'an empty secret (an empty AZURE_CLIENT_SECRET_FILE) is none');
  t.equal(value.authorityCa, undefined);

  const dir = t.testdir({ 'ca.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', 'key.pem': '-----BEGIN PRIVATE KEY-----\n' });
  t.match(auth({ AZURE_AUTHORITY_CA_FILE: join(dir, 'ca.pem') }).value.authorityCa, /^-----BEGIN CERTIFICATE-----/);
  t.match(auth({ AZURE_AUTHORITY_CA_FILE: join(dir, 'key.pem') }).problems, [/holds no PEM certificate/]);
  t.match(auth({ AZURE_AUTHORITY_CA_FILE: join(dir, 'missing.pem') }).problems, [/cannot be read: ENOENT/]);
  writeFileSync(join(dir, 'unreadable'), '');
  t.match(auth({ AZURE_AUTHORITY_CA_FILE: dir }).problems, [/cannot be read: EISDIR/], 'a folder');
});

t.test('server: CORS origins are origins only', async (t) => {
  const server = (CORS_ORIGINS: string) => parsed((problems) => serverSettings(read(serverSettingsSchema, { CORS_ORIGINS }), problems));
  t.same(server('https://app.example.com, http://localhost:5173').value.corsOrigins, ['https://app.example.com', 'http://localhost:5173']);
  for (const origin of ['*', 'https://app.example.com/', 'https://app.example.com/path', 'app.example.com', 'ftp://app.example.com']) {
    t.match(server(origin).problems, [new RegExp(`CORS_ORIGINS entry "${origin.replace(/[.*/]/g, '\\$&')}"`)], origin);
  }
  const defaults = server('').value;
  t.same([defaults.port, defaults.host, defaults.logLevel, defaults.probePort, defaults.shutdownDelayMs, defaults.corsOrigins], [3000, '0.0.0.0', 'info', undefined, 0, []]);
});

t.test('database: defaults; never one session from the environment (local mode sets that)', async (t) => {
  const db = parsed((problems) => databaseSettings(read(databaseSettingsSchema, { DATABASE_URL: 'postgresql://u@h/d', MIGRATE_ON_START: 'true' }), problems));
  t.same(db.problems, []);
  t.same(db.value, {
    databaseUrl: 'postgresql://u@h/d', databaseAuth: { kind: 'password' }, databasePoolMax: 10, databaseTimeoutMs: 5000, databaseSingleSession: false,
    migrateOnStart: true, databaseServiceRole: undefined, databaseServiceRoleObjectId: undefined,
  });
  t.equal(databaseSettings(read(databaseSettingsSchema, { DATABASE_URL: 'postgres://u@h/d', DATABASE_SERVICE_ROLE: 'acs_service' }), []).databaseServiceRole, 'acs_service');
});

t.test('deletions: a claim outlasts two ACS timeouts and a margin, in whole seconds', async (t) => {
  const raw = read(deletionSettingsSchema);
  t.same(deletionSettings(raw, 5000), { retryIntervalSeconds: 30, batchSize: 100, leaseSeconds: 15 });
  t.equal(deletionSettings(raw, 1000).leaseSeconds, 7);
  t.equal(deletionSettings(raw, 1500).leaseSeconds, 8, 'rounded up');
  t.equal(deletionSettings(raw, 60_000).leaseSeconds, 125);
  t.equal(deletionSettings(read(deletionSettingsSchema, { ACS_DELETION_RETRY_INTERVAL_SECONDS: '5' }), 5000).retryIntervalSeconds, 5);
});

t.test('metrics: in production, never public on the API port', async (t) => {
  const metrics = (env: Record<string, string>, production: boolean) => parsed((problems) => metricsSettings(read(metricsSettingsSchema, env), '127.0.0.1', production, problems));
  t.match(metrics({}, true).problems, [/must not be public on the API port/]);
  t.same(metrics({ METRICS_PORT: '9100' }, true), { value: { port: 9100, host: '127.0.0.1', token: undefined }, problems: [] });
  t.same(metrics({ METRICS_TOKEN: 'a-long-enough-token' }, true).problems, []);
  t.same(metrics({}, false).problems, [], 'outside production, public is allowed');
});

t.test('pages: PUBLIC_BASE_URL without trailing slashes, query or fragment', async (t) => {
  const pages = (env: Record<string, string>) => parsed((problems) => pageSettings(read(pageSettingsSchema, env), problems));
  const docsUrl = (PUBLIC_BASE_URL: string) => pages({ PUBLIC_BASE_URL }).value.docs.publicBaseUrl;
  t.equal(docsUrl('https://api.example.com/'), 'https://api.example.com');
  t.equal(docsUrl('https://api.example.com/tokens//'), 'https://api.example.com/tokens');
  t.equal(docsUrl('HTTPS://API.example.com:443/x'), 'https://api.example.com/x', 'as URL writes it');
  t.equal(docsUrl('http://localhost:3000'), 'http://localhost:3000');
  t.match(pages({ PUBLIC_BASE_URL: 'http://api.example.com' }).problems, [/PUBLIC_BASE_URL must be https/]);
  for (const url of ['https://api.example.com/?a=1', 'https://api.example.com/?', 'https://api.example.com/#top', 'https://api.example.com#']) {
    t.match(pages({ PUBLIC_BASE_URL: url }).problems, [/must have no query or fragment/], url);
  }
  t.match(pages({ PUBLIC_BASE_URL: 'api.example.com' }), { value: { docs: { publicBaseUrl: undefined } }, problems: [/PUBLIC_BASE_URL is not a URL/] });
  const defaults = pages({}).value;
  t.same(defaults, { demo: { enabled: false, clientId: undefined, apiScope: undefined }, docs: { enabled: true, publicBaseUrl: undefined } });
});

t.test('rate limits: read as set', async (t) => {
  const limits = rateLimitSettings(read(rateLimitSettingsSchema, { RATE_LIMIT_USER_MAX: '7', REDIS_URL: 'rediss://cache:6380' }));
  t.same(limits, { windowSeconds: 60, ipMax: 600, userMax: 7, acsCallsPerUserPerMinute: 10, redisUrl: 'rediss://cache:6380', redisPrefix: 'acs-token-service-rl:' });
  t.ok(Object.isFrozen(limits));
});

t.test('audit: a key of its own per process unless one is set; required in production', async (t) => {
  const audit = (env: Record<string, string>, production: boolean) => parsed((problems) => auditSettings(read(auditSettingsSchema, env), production, problems));
  const [one, two] = [audit({}, false).value.hashKey, audit({}, false).value.hashKey];
  t.not(one, two, 'a new random key each time');
  t.equal(Buffer.from(one, 'base64').length, 32);
  t.equal(audit({ AUDIT_HASH_KEY: 'a-configured-audit-key' }, true).value.hashKey, 'a-configured-audit-key');
  t.match(audit({}, true).problems, [/AUDIT_HASH_KEY is required in production/]);
  t.same(audit({}, true).value.retentionDays, 90);
});
