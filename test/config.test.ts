// Configuration: every problem is named at start, defaults are as documented in .env.example.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { entraCredential } from '../src/shared/entraCredential.js';
import { ConfigError, configSchema, loadConfig } from '../src/config/index.js';
import { projectFile } from '../src/projectFiles.js';

const tenant = randomUUID();
const minimal = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x',
  ACS_CONNECTION_STRING: 'endpoint=https://res.communication.azure.com/;accesskey=a2V5',
  AZURE_TENANT_ID: tenant,
  AZURE_CLIENT_ID: 'api-client-id',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

t.test('an empty environment names every missing variable', async (t) => {
  t.same(problemsOf({}).sort(), [
    'ACS_CONNECTION_STRING (or ACS_ENDPOINT) is required',
    'AZURE_CLIENT_ID is required',
    'AZURE_TENANT_ID (or AUTH_ALLOWED_TENANTS) is required',
    'DATABASE_URL is required',
  ]);
});

t.test('defaults', async (t) => {
  const config = loadConfig(minimal);
  t.equal(config.port, 3000);
  t.same(config.acs.defaultScopes, ['chat', 'voip']);
  t.same(config.acs.allowedScopes, ['chat', 'voip'], 'allowed defaults to the default scopes');
  t.equal(config.acs.tokenTtlMinutes, 60);
  t.equal(config.acs.autoCreateIdentity, true);
  t.equal(config.auth.authorityHost, 'https://login.microsoftonline.com');
  t.equal(config.auth.requiredScope, 'access_as_user');
  t.same(config.auth.allowedTenants, [tenant]);
  t.same(config.auth.audiences, ['api-client-id']);
  t.equal(config.acs.endpoint.hostname, 'res.communication.azure.com');
  t.ok(Object.isFrozen(config));
});

t.test('only the environment given is read, not the process\'s own', async (t) => {
  // Local mode builds its configuration from an environment of its own: a deployment's
  // DATABASE_SERVICE_ROLE it leaves out must stay out.
  process.env.PORT = '4321';
  process.env.DATABASE_SERVICE_ROLE = 'acs_service';
  t.teardown(() => { delete process.env.PORT; delete process.env.DATABASE_SERVICE_ROLE; });
  const config = loadConfig(minimal);
  t.equal(config.port, 3000);
  t.equal(config.databaseServiceRole, undefined);
  t.same(problemsOf({}).filter((problem) => problem.startsWith('DATABASE_URL')), ['DATABASE_URL is required']);
});

t.test('numbers and booleans: read as the schema says, or named', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ SHUTDOWN_DELAY_MS: '1.5' }, 'SHUTDOWN_DELAY_MS must be integer'],
    [{ PORT: ' ' }, 'PORT must be integer'],
    [{ MIGRATE_ON_START: 'yes' }, 'MIGRATE_ON_START must be boolean'],
    [{ DOCS_ENABLED: '0' }, 'DOCS_ENABLED must be boolean'],
    [{ OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: '1' }, 'OVERLOAD_MAX_EVENT_LOOP_UTILIZATION must be < 1'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be equal to one of the allowed values'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN must not have fewer than 16 characters'],
  ];
  for (const [override, problem] of cases) t.same(problemsOf({ ...minimal, ...override }), [problem], JSON.stringify(override));
  const config = loadConfig({ ...minimal, OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: '0.9', MIGRATE_ON_START: 'true', DOCS_ENABLED: 'false', PORT: '8080' });
  t.equal(config.overload.maxEventLoopUtilization, 0.9);
  t.equal(config.migrateOnStart, true);
  t.equal(config.docs.enabled, false);
  t.equal(config.port, 8080);
});

t.test('HTTP server limits: defaults, and each setting read', async (t) => {
  t.same(loadConfig(minimal).http, { maxConnections: 1000, headersTimeoutMs: 10000, requestTimeoutMs: 30000, keepAliveTimeoutMs: 72000 });
  const set = loadConfig({ ...minimal, HTTP_MAX_CONNECTIONS: '20', HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '125000' });
  t.same(set.http, { maxConnections: 20, headersTimeoutMs: 1000, requestTimeoutMs: 1000, keepAliveTimeoutMs: 125000 }, 'equal headers and request timeouts are allowed');
  t.ok(Object.isFrozen(set.http));
});

t.test('lists and tenants', async (t) => {
  const other = randomUUID().toUpperCase();
  const config = loadConfig({ ...minimal, AUTH_ALLOWED_TENANTS: ` ${other} ,${tenant}`, AUTH_AUDIENCE: 'api://x, other', ACS_ALLOWED_SCOPES: 'chat,voip,voip.join' });
  t.same(config.auth.allowedTenants, [tenant, other.toLowerCase()]);
  t.same(config.auth.audiences, ['api-client-id', 'api://x', 'other']);
  t.same(config.acs.allowedScopes, ['chat', 'voip', 'voip.join']);
  const multiTenantOnly = loadConfig({ ...minimal, AZURE_TENANT_ID: '', AUTH_ALLOWED_TENANTS: tenant });
  t.same(multiTenantOnly.auth.allowedTenants, [tenant]);
});

t.test('invalid values are each named', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ ACS_TOKEN_TTL_MINUTES: '59' }, /ACS_TOKEN_TTL_MINUTES must be >= 60/],
    [{ ACS_TOKEN_TTL_MINUTES: '1441' }, /ACS_TOKEN_TTL_MINUTES must be <= 1440/],
    [{ PORT: 'eighty' }, /PORT must be integer/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ AZURE_TENANT_ID: 'contoso.onmicrosoft.com' }, /AZURE_TENANT_ID/],
    [{ AUTH_ALLOWED_TENANTS: 'common' }, /AUTH_ALLOWED_TENANTS entry "common"/],
    [{ AZURE_AUTHORITY_HOST: 'http://login.example.com' }, /AZURE_AUTHORITY_HOST must be https/],
    [{ AZURE_AUTHORITY_HOST: 'https://login.example.com/tenant/path' }, /AZURE_AUTHORITY_HOST/],
    [{ ACS_CONNECTION_STRING: 'endpoint=http://res.communication.azure.com/;accesskey=a2V5' }, /endpoint must be https/],
    [{ ACS_CONNECTION_STRING: 'just-a-key' }, /must look like endpoint=/],
    [{ ACS_TOKEN_SCOPES: 'chat,admin' }, /unknown ACS scopes: admin/],
    [{ ACS_TOKEN_SCOPES: 'chat,voip', ACS_ALLOWED_SCOPES: 'chat' }, /ACS_ALLOWED_SCOPES does not allow: voip/],
    [{ ACS_AUTO_CREATE_IDENTITY: 'maybe' }, /ACS_AUTO_CREATE_IDENTITY/],
    [{ AUTH_CLOCK_TOLERANCE_SECONDS: '3600' }, /AUTH_CLOCK_TOLERANCE_SECONDS must be <= 300/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ TRUST_PROXY: 'true' }, /TRUST_PROXY=true would let clients choose their IP/],
    [{ CORS_ORIGINS: '*' }, /CORS_ORIGINS entry "\*"/],
    [{ NODE_ENV: 'production', AUDIT_HASH_KEY: 'a-long-enough-audit-key' }, /\/metrics must not be public/],
    [{ NODE_ENV: 'production', METRICS_TOKEN: 'a-long-enough-metrics-token' }, /AUDIT_HASH_KEY is required in production/],
    [{ DATABASE_SERVICE_ROLE: 'acs; DROP TABLE x' }, /DATABASE_SERVICE_ROLE must match pattern/],
    [{ HTTP_MAX_CONNECTIONS: '0' }, /HTTP_MAX_CONNECTIONS must be >= 1/],
    [{ HTTP_MAX_CONNECTIONS: 'many' }, /HTTP_MAX_CONNECTIONS must be integer/],
    [{ HTTP_HEADERS_TIMEOUT_MS: '500' }, /HTTP_HEADERS_TIMEOUT_MS must be >= 1000/],
    [{ HTTP_REQUEST_TIMEOUT_MS: '300001' }, /HTTP_REQUEST_TIMEOUT_MS must be <= 300000/],
    [{ HTTP_KEEP_ALIVE_TIMEOUT_MS: '72s' }, /HTTP_KEEP_ALIVE_TIMEOUT_MS must be integer/],
    [{ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' }, /HTTP_HEADERS_TIMEOUT_MS \(20000\) must not exceed HTTP_REQUEST_TIMEOUT_MS \(10000\)/],
    // Else the metrics server takes the port first, and the API's listen fails as if another process had it.
    [{ PORT: '3000', METRICS_PORT: '3000' }, /METRICS_PORT \(3000\) must be a port of its own, not PORT/],
  ];
  for (const [override, expected] of cases) {
    const problems = problemsOf({ ...minimal, ...override });
    t.match(problems.join('\n'), expected, JSON.stringify(override));
  }
});

t.test('a refused AZURE_AUTHORITY_HOST: the sections read after the auth section still name their problems', async (t) => {
  const problems = problemsOf({ ...minimal, AZURE_AUTHORITY_HOST: 'login.example.com', PROBE_PORT: '3000', DATABASE_CREDENTIAL_CLIENT_ID: randomUUID() });
  t.match(problems.join('\n'), /AZURE_AUTHORITY_HOST must match pattern/);
  t.ok(problems.includes('PROBE_PORT (3000) must be a port of its own, not PORT or METRICS_PORT'), problems.join('\n'));
  t.ok(problems.includes('DATABASE_CREDENTIAL_CLIENT_ID is for DATABASE_AUTH=entra'), problems.join('\n'));
});

t.test('TRUST_PROXY: proxy addresses (each entry checked), a hop count, or off', async (t) => {
  const trustProxy = (value: string) => loadConfig({ ...minimal, TRUST_PROXY: value }).trustProxy;
  t.equal(loadConfig(minimal).trustProxy, false, 'off by default');
  t.equal(trustProxy('false'), false);
  t.same(trustProxy(' 10.0.0.7 , 10.240.0.0/16,fd00::/64, ::1, ::ffff:10.1.2.3'), ['10.0.0.7', '10.240.0.0/16', 'fd00::/64', '::1', '::ffff:10.1.2.3']);
  t.equal(trustProxy('1'), 1);
  t.equal(trustProxy('2'), 2);
  t.equal(trustProxy('0'), false, 'no hop trusted: off');

  const cases: Array<[string, string]> = [
    ['ingress-nginx', 'TRUST_PROXY entry "ingress-nginx" is not an IP address or CIDR range (e.g. 10.0.0.7, 10.240.0.0/16, fd00::/64)'],
    ['10.0.0.7, 10.0.0.256', 'TRUST_PROXY entry "10.0.0.256" is not an IP address or CIDR range (e.g. 10.0.0.7, 10.240.0.0/16, fd00::/64)'],
    // Forms that Fastify's proxy-addr would read otherwise: "1" as 0.0.0.1, octal 010 as 8.
    ['1, 10.0.0.7', 'TRUST_PROXY entry "1" is not an IP address or CIDR range (e.g. 10.0.0.7, 10.240.0.0/16, fd00::/64)'],
    ['010.0.0.1', 'TRUST_PROXY entry "010.0.0.1" is not an IP address or CIDR range (e.g. 10.0.0.7, 10.240.0.0/16, fd00::/64)'],
    ['10.0.0.0/8/16', 'TRUST_PROXY entry "10.0.0.0/8/16" is not an IP address or CIDR range (e.g. 10.0.0.7, 10.240.0.0/16, fd00::/64)'],
    ['10.0.0.0/33', 'TRUST_PROXY entry "10.0.0.0/33" needs a prefix length from 1 to 32'],
    ['10.0.0.0/255.0.0.0', 'TRUST_PROXY entry "10.0.0.0/255.0.0.0" needs a prefix length from 1 to 32'],
    ['fd00::/129', 'TRUST_PROXY entry "fd00::/129" needs a prefix length from 1 to 128'],
    ['0.0.0.0/0', 'TRUST_PROXY entry "0.0.0.0/0" needs a prefix length from 1 to 32'],
    ['::/0', 'TRUST_PROXY entry "::/0" needs a prefix length from 1 to 128'],
    [',', 'TRUST_PROXY must be false, a list of proxy addresses or a number of proxy hops'],
  ];
  for (const [value, problem] of cases) t.same(problemsOf({ ...minimal, TRUST_PROXY: value }), [problem], value);
  const problems = problemsOf({ ...minimal, TRUST_PROXY: 'proxy-a, 10.0.0.7, proxy-b' });
  t.same(problems.map((p) => p.match(/"(.*?)"/)?.[1]), ['proxy-a', 'proxy-b'], 'every bad entry is named');
});

t.test('secrets from files (NAME_FILE), as Kubernetes mounts them', async (t) => {
  const dir = t.testdir({ 'acs.txt': 'endpoint=https://res.communication.azure.com/;accesskey=ZmlsZQ==\n', 'secret.txt': 's3cret\n' });
  const config = loadConfig({ ...minimal, ACS_CONNECTION_STRING: '', ACS_CONNECTION_STRING_FILE: `${dir}/acs.txt`, AZURE_CLIENT_SECRET_FILE: `${dir}/secret.txt` });
  t.equal(config.acs.connectionString, 'endpoint=https://res.communication.azure.com/;accesskey=ZmlsZQ==', 'read, trailing newline dropped');
  t.equal(config.auth.clientSecret, 's3cret');
  t.match(problemsOf({ ...minimal, ACS_CONNECTION_STRING_FILE: `${dir}/acs.txt` }).join(), /Set ACS_CONNECTION_STRING or ACS_CONNECTION_STRING_FILE, not both/);
  t.match(problemsOf({ ...minimal, AZURE_CLIENT_SECRET_FILE: `${dir}/missing.txt` }).join(), /AZURE_CLIENT_SECRET_FILE .* cannot be read: ENOENT/);
});

t.test('ACS with an Entra credential: ACS_ENDPOINT instead of a connection string', async (t) => {
  const config = loadConfig({ ...minimal, ACS_CONNECTION_STRING: '', ACS_ENDPOINT: 'https://res.communication.azure.com' });
  t.equal(config.acs.connectionString, undefined);
  t.equal(config.acs.endpoint.origin, 'https://res.communication.azure.com');
  t.match(problemsOf({ ...minimal, ACS_ENDPOINT: 'https://res.communication.azure.com' }).join(), /not both/);
  t.match(problemsOf({ ...minimal, ACS_CONNECTION_STRING: '', ACS_ENDPOINT: 'http://res.communication.azure.com' }).join(), /ACS_ENDPOINT endpoint must be https/);

  // The managed identity's client id, apart from AZURE_CLIENT_ID (the app users sign in to).
  const clientId = '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d';
  t.equal(loadConfig({ ...minimal, ACS_CONNECTION_STRING: '', ACS_ENDPOINT: 'https://res.communication.azure.com', ACS_CREDENTIAL_CLIENT_ID: clientId }).acs.credentialClientId, clientId);
  t.equal(config.acs.credentialClientId, undefined);
  t.match(problemsOf({ ...minimal, ACS_CREDENTIAL_CLIENT_ID: clientId }).join(), /ACS_CREDENTIAL_CLIENT_ID is for ACS_ENDPOINT/);
  // That identity exactly (not AZURE_CLIENT_ID + AZURE_CLIENT_SECRET, the app's own): a
  // user-assigned managed identity, or on Kubernetes the workload identity.
  t.equal(entraCredential(clientId).constructor.name, 'ManagedIdentityCredential');
  process.env.AZURE_FEDERATED_TOKEN_FILE = '/var/run/secrets/azure/tokens/azure-identity-token';
  process.env.AZURE_TENANT_ID = tenant;
  t.teardown(() => { delete process.env.AZURE_FEDERATED_TOKEN_FILE; delete process.env.AZURE_TENANT_ID; });
  t.equal(entraCredential(clientId).constructor.name, 'WorkloadIdentityCredential');
  t.equal(entraCredential(undefined).constructor.name, 'DefaultAzureCredential');
  t.match(problemsOf({ ...minimal, ACS_CONNECTION_STRING: '', ACS_ENDPOINT: 'https://res.communication.azure.com', ACS_CREDENTIAL_CLIENT_ID: 'not-a-guid' }).join(), /ACS_CREDENTIAL_CLIENT_ID/);
});

t.test('the database with Entra sign-in (DATABASE_AUTH=entra): its identity, no password in DATABASE_URL', async (t) => {
  t.same(loadConfig(minimal).databaseAuth, { kind: 'password' }, 'a password by default');
  const clientId = '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d';
  const objectId = '1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b';
  const entra = loadConfig({
    ...minimal, DATABASE_URL: 'postgres://acs-token-service@db.postgres.database.azure.com/acs?sslmode=require',
    DATABASE_AUTH: 'entra', DATABASE_CREDENTIAL_CLIENT_ID: clientId, DATABASE_SERVICE_ROLE: 'acs-token-service', DATABASE_SERVICE_ROLE_OBJECT_ID: objectId,
  });
  t.same(entra.databaseAuth, { kind: 'entra', credentialClientId: clientId });
  t.equal(entra.databaseServiceRoleObjectId, objectId);
  t.same(loadConfig({ ...minimal, DATABASE_AUTH: 'entra' }).databaseAuth, { kind: 'entra', credentialClientId: undefined }, 'without a client id: DefaultAzureCredential');

  const cases: Array<[Record<string, string>, string]> = [
    [{ DATABASE_AUTH: 'aad' }, 'DATABASE_AUTH must be password or entra, not "aad"'],
    [{ DATABASE_AUTH: 'entra', DATABASE_CREDENTIAL_CLIENT_ID: 'my-identity' }, 'DATABASE_CREDENTIAL_CLIENT_ID must be a GUID: the client id of the managed (or workload) identity that signs in to the database'],
    [{ DATABASE_CREDENTIAL_CLIENT_ID: clientId }, 'DATABASE_CREDENTIAL_CLIENT_ID is for DATABASE_AUTH=entra'],
    [{ DATABASE_AUTH: 'entra', DATABASE_URL: 'postgres://svc:s3cret@db/acs' }, 'DATABASE_URL must carry no password with DATABASE_AUTH=entra: each connection\'s password is an Entra access token'],
    [{ DATABASE_AUTH: 'entra', DATABASE_URL: 'postgres://svc@db/acs?password=s3cret' }, 'DATABASE_URL must carry no password with DATABASE_AUTH=entra: each connection\'s password is an Entra access token'],
    // A Unix socket: no host in the URL, which WHATWG's URL refuses, but pg reads the password.
    [{ DATABASE_AUTH: 'entra', DATABASE_URL: 'postgres://svc:secret@/acs?host=/var/run/postgresql' }, 'DATABASE_URL must carry no password with DATABASE_AUTH=entra: each connection\'s password is an Entra access token'],
    [{ DATABASE_AUTH: 'entra', DATABASE_URL: 'postgresql://svc:p%40ss@[::1]:5432/acs' }, 'DATABASE_URL must carry no password with DATABASE_AUTH=entra: each connection\'s password is an Entra access token'],
    [{ DATABASE_URL: 'postgres://svc@db:port/acs' }, 'DATABASE_URL is not a connection string pg can read (Invalid URL)'],
    [{ DATABASE_AUTH: 'entra', AZURE_CLIENT_SECRET: 'app-secret' }, 'DATABASE_AUTH=entra needs DATABASE_CREDENTIAL_CLIENT_ID while AZURE_CLIENT_SECRET is set: without it, the sign-in would be the API\'s own app registration'],
    [{ DATABASE_AUTH: 'entra', DATABASE_SERVICE_ROLE: 'svc', DATABASE_SERVICE_ROLE_OBJECT_ID: 'svc' }, 'DATABASE_SERVICE_ROLE_OBJECT_ID must be a GUID: the Entra object id of the service\'s identity'],
    [{ DATABASE_AUTH: 'entra', DATABASE_SERVICE_ROLE_OBJECT_ID: objectId }, 'DATABASE_SERVICE_ROLE_OBJECT_ID needs DATABASE_AUTH=entra and DATABASE_SERVICE_ROLE (the role it creates)'],
    [{ DATABASE_SERVICE_ROLE: 'svc', DATABASE_SERVICE_ROLE_OBJECT_ID: objectId }, 'DATABASE_SERVICE_ROLE_OBJECT_ID needs DATABASE_AUTH=entra and DATABASE_SERVICE_ROLE (the role it creates)'],
  ];
  for (const [override, problem] of cases) t.same(problemsOf({ ...minimal, ...override }), [problem], JSON.stringify(override));
  t.same(problemsOf({ ...minimal, DATABASE_AUTH: 'entra', DATABASE_CREDENTIAL_CLIENT_ID: clientId, AZURE_CLIENT_SECRET: 'app-secret' }), [], 'the app\'s secret is fine with an identity of the database\'s own');
  // What pg reads as no password.
  for (const url of ['postgres://svc@/acs?host=/var/run/postgresql', 'postgres:///acs?host=/var/run/postgresql', 'postgres://svc:@db/acs', 'postgres://svc@db/acs?password=', 'postgresql://svc@[::1]:5432/acs?sslmode=verify-full']) {
    t.same(problemsOf({ ...minimal, DATABASE_AUTH: 'entra', DATABASE_URL: url }), [], `no password: ${url}`);
  }
});

t.test('http:// is accepted for loopback hosts only', async (t) => {
  const local = loadConfig({
    ...minimal,
    AZURE_AUTHORITY_HOST: 'http://127.0.0.1:4000',
    ACS_CONNECTION_STRING: 'endpoint=http://localhost:4001/;accesskey=a2V5',
  });
  t.equal(local.auth.authorityHost, 'http://127.0.0.1:4000');
  t.equal(local.acs.endpoint.protocol, 'http:');
  t.match(problemsOf({ ...minimal, AZURE_AUTHORITY_HOST: 'http://10.0.0.1' }).join(), /https/);
  t.match(problemsOf({ ...minimal, AZURE_AUTHORITY_HOST: 'http://127.0.0.1.evil.example' }).join(), /https/);
});

t.test('.env.example documents every variable the configuration reads', async (t) => {
  const example = readFileSync(projectFile('.env.example'), 'utf8');
  // The schema every module's section is part of: each of its variables is read.
  const read = Object.keys(configSchema.properties);
  t.ok(read.length >= 20, `${read.length} variables`);
  for (const name of read) t.match(example, new RegExp(`^#? ?${name}=`, 'm'), `${name} is in .env.example`);
});

t.test('AUTH_ISSUERS: each entry checked, problems name the entry; also from a file', async (t) => {
  const issuers = (value: unknown) => ({ ...minimal, AUTH_ISSUERS: JSON.stringify(value) });
  const ok = loadConfig(issuers([
    { issuer: 'https://login.example.com/', audience: 'api://tokens' },
    { issuer: 'https://idp.example.org/realms/acs', audience: 'acs', jwksUri: 'https://idp.example.org/realms/acs/protocol/openid-connect/certs', algorithms: ['ES256', 'RS256'], scope: 'acs.tokens', subjectClaim: 'preferred_username' },
  ]));
  t.match(ok.auth.issuers, [
    { issuer: 'https://login.example.com/', audience: 'api://tokens', jwksUri: undefined, algorithms: ['RS256'], scope: undefined, subjectClaim: 'sub' },
    { algorithms: ['ES256', 'RS256'], scope: 'acs.tokens', subjectClaim: 'preferred_username' },
  ]);
  t.same(loadConfig(minimal).auth.issuers, [], 'none by default');

  const problems = (value: unknown) => problemsOf(issuers(value)).join('\n');
  t.match(problemsOf({ ...minimal, AUTH_ISSUERS: '{"issuer"' }).join(), /AUTH_ISSUERS is not valid JSON/);
  t.match(problems({ issuer: 'https://a.example.com', audience: 'x' }), /AUTH_ISSUERS must be a JSON array/);
  t.match(problems(['https://a.example.com']), /AUTH_ISSUERS\[0\] must be an object/);
  t.match(problems([{ audience: 'x' }]), /AUTH_ISSUERS\[0\]: "issuer" is required/);
  t.match(problems([{ issuer: 'https://a.example.com' }]), /AUTH_ISSUERS\[0\] \(https:\/\/a\.example\.com\): "audience" is required/);
  t.match(problems([{ issuer: 'http://a.example.com', audience: 'x' }]), /"issuer" must be https:\/\//);
  t.notMatch(problems([{ issuer: 'http://127.0.0.1:8080/oidc', audience: 'x' }]), /must be https/, 'http:// on loopback is fine');
  t.match(problems([{ issuer: 'https://a.example.com', audience: 'x', jwksUri: 'http://keys.example.com' }]), /"jwksUri" must be https:\/\//);
  t.match(problems([{ issuer: 'https://a.example.com', audience: 'x', algorithms: ['HS256'] }]), /"algorithms" must be a non-empty list of RS256, ES256/);
  t.match(problems([{ issuer: 'https://a.example.com', audience: 'x', algorithms: [] }]), /"algorithms"/);
  t.match(problems([{ issuer: 'https://a.example.com', audience: 'x', scope: 'a b' }]), /"scope" must be one scope name/);
  t.match(problems([{ issuer: 'https://a.example.com', audience: 'x', subjectClaim: '' }]), /"subjectClaim" must be a claim name/);
  t.match(problems([{ issuer: 'https://a.example.com', audience: 'x', audiences: ['y'] }]), /unknown field "audiences"/);
  t.match(problems([{ issuer: 'https://a.example.com', audience: 'x' }, { issuer: 'https://a.example.com', audience: 'y' }]), /AUTH_ISSUERS\[1\] \(https:\/\/a\.example\.com\): the issuer is listed twice/);
  t.match(problems([{ issuer: 'https://a.example.com', audience: 'x' }, { issuer: 'https://a.example.com/', audience: 'y' }]), /AUTH_ISSUERS\[1\].*listed twice/, 'a trailing slash does not make another issuer');
  t.match(problems([{ issuer: `https://login.microsoftonline.com/${minimal.AZURE_TENANT_ID}/v2.0`, audience: 'x' }]), /is an Entra ID tenant of AZURE_TENANT_ID/);

  const dir = mkdtempSync(join(tmpdir(), 'acs-issuers-'));
  const file = join(dir, 'issuers.json');
  writeFileSync(file, `${JSON.stringify([{ issuer: 'https://b.example.com', audience: 'y' }])}\n`);
  t.equal(loadConfig({ ...minimal, AUTH_ISSUERS_FILE: file }).auth.issuers[0]!.issuer, 'https://b.example.com', 'AUTH_ISSUERS_FILE');
});
