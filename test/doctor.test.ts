// `npm run doctor` as a real process against the emulators and a test database: all green, then
// each fault on its own (a missing setting, Entra down, ACS refusing, the database down,
// migrations pending, --read-only), each named with its fix while the other checks still run.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startAcsEmulator } from '../emulators/acsEmulator.js';
import { startEntraEmulator } from '../emulators/entraEmulator.js';
import { fail, pass, runChecklist } from '../src/doctor/checklist.js';
import { projectFile } from '../src/projectFiles.js';
import { freePort } from './helpers/freePort.js';
import { startServiceProcess } from './helpers/serviceProcess.js';
import { ADMIN_DATABASE_URL, createTestDatabase, TEST_DATABASE, withClient } from './helpers/testDatabase.js';
import { testServiceEnv } from './helpers/testServiceEnv.js';

const DOCTOR = 'src/doctor/doctorCli.ts';
// Each subtest starts the doctor as a process of its own (tsx): a time budget of their own (README, Tests).
t.setTimeout(240_000);

type Tap = Parameters<typeof startServiceProcess>[0];

async function doctor(t: Tap, env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = await startServiceProcess(t, env, DOCTOR, undefined, args);
  const code = await run.exited;
  return { code, ...run.output() };
}

const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase()]);
t.teardown(async () => { await Promise.all([entra.close(), acs.close()]); await database.drop(); });
const env = testServiceEnv({ entra, acs, database });

t.test('local mode: nothing to check, said so, exit 0', async (t) => {
  const run = await doctor(t, {});
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /Local mode: no Azure setting .* nothing to check/);
  t.notMatch(run.stdout, /✘/);
});

t.test('all green against the emulators: an identity created, issued a token, deleted', async (t) => {
  const before = acs.identityIds().length;
  acs.resetCounters();
  const run = await doctor(t, env);
  t.equal(run.code, 0, run.stdout + run.stderr);
  t.match(run.stdout, /✔ Settings: every setting is valid/);
  t.match(run.stdout, new RegExp(`✔ Entra: tenant ${entra.tenantId}: discovery document and key set read`));
  t.match(run.stdout, /✔ ACS: created, issued, deleted an identity \(http:\/\/127\.0\.0\.1:\d+\) \(\d+ ms\)/);
  t.match(run.stdout, /✔ Database: reachable at 127\.0\.0\.1/);
  t.match(run.stdout, /✔ Database: migrations current/);
  t.match(run.stdout, /– Teams: not checked: Teams is off/);
  t.match(run.stdout, /All checks passed/);
  t.notMatch(run.stdout, /✘/);
  t.equal(acs.counters.identitiesCreated, 1);
  t.equal(acs.counters.tokensIssued, 1);
  t.equal(acs.counters.deletions, 1);
  t.equal(acs.identityIds().length, before, 'the identity made for the check is gone');
});

t.test('every allowed tenant and every AUTH_ISSUERS issuer is checked', async (t) => {
  const other = '0b0b0b0b-0000-4000-8000-000000000001';
  const run = await doctor(t, {
    ...env,
    AUTH_ALLOWED_TENANTS: other,
    AUTH_ISSUERS: JSON.stringify([{ issuer: entra.oidc.issuer, audience: 'api://doctor', algorithms: [entra.oidc.algorithm] }]),
  }, ['--read-only']);
  t.equal(run.code, 0, run.stdout + run.stderr);
  t.match(run.stdout, new RegExp(`✔ Entra: tenant ${entra.tenantId}:`));
  t.match(run.stdout, new RegExp(`✔ Entra: tenant ${other}:`));
  t.match(run.stdout, /✔ Entra: issuer http:\/\/127\.0\.0\.1:\d+\/\S*: discovery document and key set read/);
});

t.test('an issuer whose key set has no key of its algorithms: failed, the fix names "algorithms"', async (t) => {
  const other = entra.oidc.algorithm === 'ES256' ? 'RS256' : 'ES256';
  const run = await doctor(t, { ...env, AUTH_ISSUERS: JSON.stringify([{ issuer: entra.oidc.issuer, audience: 'api://doctor', algorithms: [other] }]) }, ['--read-only']);
  t.equal(run.code, 1);
  t.match(run.stdout, new RegExp(`✘ Entra: issuer \\S+: \\S+ lists no signing keys for ${other} .*— fix: check this AUTH_ISSUERS entry's "issuer" and "algorithms" \\(${other}: its keys must be of one of them\\)`));
  t.match(run.stdout, /✔ Entra: tenant/);
});

t.test('a .env in the folder it runs in is read, as npm run migrate reads it', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'acs-doctor-'));
  t.teardown(() => rmSync(folder, { recursive: true, force: true }));
  writeFileSync(join(folder, '.env'), `AZURE_CLIENT_ID=${env.AZURE_CLIENT_ID}\n`);
  const fromEnvironment = { ...env };
  delete fromEnvironment.AZURE_CLIENT_ID;
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), projectFile(DOCTOR), '--read-only'], {
    cwd: folder, env: { PATH: process.env.PATH, _TAPJS_PROCESSINFO_COVERAGE_: '0', ...fromEnvironment },
  });
  let stdout = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  const [code] = await once(child, 'exit');
  t.equal(code, 0, stdout);
  t.match(stdout, /✔ Settings: every setting is valid/);
});

t.test('a missing setting: named with its fix; the other checks still run', async (t) => {
  const missing = { ...env };
  delete missing.AZURE_CLIENT_ID;
  const run = await doctor(t, missing);
  t.equal(run.code, 1);
  t.match(run.stdout, /✘ Settings: AZURE_CLIENT_ID is required \(\d+ ms\) — fix: set AZURE_CLIENT_ID in the environment or \.env \(see \.env\.example\)/);
  t.match(run.stdout, /– Entra: not checked: its settings are invalid/);
  t.match(run.stdout, /✔ ACS: created, issued, deleted an identity/);
  t.match(run.stdout, /✔ Database: migrations current/);
});

t.test('invalid settings of several sections: every problem named, schema and later checks alike, and each skip says why', async (t) => {
  const run = await doctor(t, {
    ...env,
    PORT: 'not-a-port',
    CORS_ORIGINS: '*',
    ACS_TOKEN_SCOPES: 'chat,bogus',
    AZURE_AUTHORITY_HOST: 'http://login.example.com',
  }, ['--read-only']);
  t.equal(run.code, 1);
  // The schema's problem, and those of the sections' own checks that follow it.
  t.match(run.stdout, /✘ Settings: PORT must be integer .*— fix: set PORT in/);
  t.match(run.stdout, /✘ Settings: CORS_ORIGINS entry "\*" .*— fix: set CORS_ORIGINS in/);
  t.match(run.stdout, /✘ Settings: ACS_TOKEN_SCOPES has unknown ACS scopes: bogus/);
  t.match(run.stdout, /✘ Settings: AZURE_AUTHORITY_HOST .*— fix: set AZURE_AUTHORITY_HOST in/);
  // Each skipped check names the variables of its own that are invalid, and why.
  t.match(run.stdout, /– Entra: not checked: its settings are invalid: AZURE_AUTHORITY_HOST /);
  t.match(run.stdout, /– ACS: not checked: its settings are invalid: ACS_TOKEN_SCOPES has unknown ACS scopes: bogus/);
  t.notMatch(run.stdout, /– \w+: not checked: its settings are invalid \(see Settings above\)/);
  t.match(run.stdout, /✔ Database: migrations current/);
});

t.test('NAME and NAME_FILE both set, or a NAME_FILE unreadable: refused as the service refuses them, and the checks that need them skipped', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'acs-doctor-files-'));
  t.teardown(() => rmSync(folder, { recursive: true, force: true }));
  const urlFile = join(folder, 'database-url');
  writeFileSync(urlFile, `${env.DATABASE_URL}\n`);
  const missing = join(folder, 'issuers.json');
  const run = await doctor(t, { ...env, DATABASE_URL_FILE: urlFile, AUTH_ISSUERS_FILE: missing }, ['--read-only']);
  t.equal(run.code, 1);
  t.match(run.stdout, /✘ Settings: Set DATABASE_URL or DATABASE_URL_FILE, not both .*— fix: set only one of DATABASE_URL \/ DATABASE_URL_FILE/);
  t.match(run.stdout, new RegExp(`✘ Settings: AUTH_ISSUERS_FILE \\(${missing}\\) cannot be read: ENOENT .*— fix: make AUTH_ISSUERS_FILE name a file the service can read, or set AUTH_ISSUERS instead`));
  t.match(run.stdout, /– Database: not checked: its settings are invalid: Set DATABASE_URL or DATABASE_URL_FILE, not both/);
  t.notMatch(run.stdout, /Database: reachable/, 'the database is not checked with settings the service refuses');
  t.match(run.stdout, /– Entra: not checked: its settings are invalid: AUTH_ISSUERS_FILE .* cannot be read/);
  t.notMatch(run.stdout, /✔ Entra:/, 'no issuer is checked while AUTH_ISSUERS cannot be read');
});

t.test('AZURE_AUTHORITY_CA_FILE unreadable: a path setting, not a secret file, so the fix names it, not a NAME it would stand for', async (t) => {
  const missing = join(tmpdir(), `no-such-ca-${randomBytes(4).toString('hex')}.pem`);
  const run = await doctor(t, { ...env, AZURE_AUTHORITY_CA_FILE: missing }, ['--read-only']);
  t.equal(run.code, 1);
  t.match(run.stdout, new RegExp(`✘ Settings: AZURE_AUTHORITY_CA_FILE \\(${missing}\\) cannot be read: ENOENT .*— fix: make AZURE_AUTHORITY_CA_FILE name a file the service can read\\n`));
  t.notMatch(run.stdout, /AZURE_AUTHORITY_CA\b(?!_FILE)/, 'no variable AZURE_AUTHORITY_CA is suggested');
});

t.test('Teams with invalid auth settings: skipped as invalid, not "Teams is off"', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'acs-doctor-secret-'));
  t.teardown(() => rmSync(folder, { recursive: true, force: true }));
  const secretFile = join(folder, 'secret');
  writeFileSync(secretFile, `${entra.clientSecret}\n`);
  const both = await doctor(t, { ...env, AZURE_CLIENT_SECRET: entra.clientSecret, AZURE_CLIENT_SECRET_FILE: secretFile }, ['--read-only']);
  t.equal(both.code, 1);
  t.match(both.stdout, /– Teams: not checked: its settings are invalid: Set AZURE_CLIENT_SECRET or AZURE_CLIENT_SECRET_FILE, not both/);
  t.notMatch(both.stdout, /Teams is off/);
  const badTenant = await doctor(t, { ...env, AZURE_CLIENT_SECRET: entra.clientSecret, AZURE_TENANT_ID: 'contoso.onmicrosoft.com' }, ['--read-only']);
  t.equal(badTenant.code, 1);
  t.match(badTenant.stdout, /– Teams: not checked: its settings are invalid: AZURE_TENANT_ID/);
  t.notMatch(badTenant.stdout, /Teams is off/);
});

t.test('a problem naming variables whose names hold one another: the fix names each whole name', async (t) => {
  const run = await doctor(t, { ...env, PORT: '3100', PROBE_PORT: '3100' }, ['--read-only']);
  t.equal(run.code, 1);
  t.match(run.stdout, /✘ Settings: PROBE_PORT \(3100\) must be a port of its own, not PORT or METRICS_PORT .*— fix: set PROBE_PORT \/ PORT \/ METRICS_PORT in the environment/);
});

t.test('the Entra emulator down: its tenant fails with the fix; the other checks still run', async (t) => {
  const down = await startEntraEmulator();
  const authorityHost = down.authorityHost;
  await down.close();
  const run = await doctor(t, { ...env, AZURE_AUTHORITY_HOST: authorityHost });
  t.equal(run.code, 1);
  t.match(run.stdout, /✘ Entra: tenant \S+: .*ECONNREFUSED.* — fix: check the tenant id \(AZURE_TENANT_ID \/ AUTH_ALLOWED_TENANTS\) and AZURE_AUTHORITY_HOST/);
  t.match(run.stdout, /✔ ACS: created, issued, deleted an identity/);
  t.match(run.stdout, /✔ Database: migrations current/);
});

t.test('ACS refusing a wrong access key: the fix names the connection string; nothing is left', async (t) => {
  const before = acs.identityIds().length;
  const wrongKey = acs.connectionString.replace(/accesskey=.*$/, `accesskey=${randomBytes(32).toString('base64')}`);
  const run = await doctor(t, { ...env, ACS_CONNECTION_STRING: wrongKey });
  t.equal(run.code, 1);
  t.match(run.stdout, /✘ ACS: could not create an identity: ACS createIdentity failed: rejected \(HTTP 401\).* — fix: ACS refused the access key: copy the connection string again/);
  t.match(run.stdout, /✔ Entra: tenant/);
  t.match(run.stdout, /✔ Database: migrations current/);
  t.equal(acs.identityIds().length, before);
});

t.test('ACS failing after the identity was made, the clean-up too: the line names the identity left', async (t) => {
  const before = acs.identityIds().length;
  acs.injectFault({ status: 503, times: 3, operations: ['issueToken'] });
  acs.injectFault({ status: 503, times: 3, operations: ['deleteIdentity'] });
  t.teardown(() => acs.clearFaults());
  const run = await doctor(t, { ...env, ACS_REQUEST_TIMEOUT_MS: '3000' });
  t.equal(run.code, 1);
  const left = acs.identityIds().slice(before);
  t.equal(left.length, 1, 'the identity could not be deleted');
  t.match(run.stdout, new RegExp(`✘ ACS: could not issue a token: .*the identity ${left[0]} made for the check is left`), 'and the line says which');
});

t.test('ACS failing after the identity was made: the clean-up deletes it', async (t) => {
  const before = acs.identityIds().length;
  acs.injectFault({ status: 503, times: 3, operations: ['issueToken'] });
  t.teardown(() => acs.clearFaults());
  const run = await doctor(t, env);
  t.equal(run.code, 1);
  t.match(run.stdout, /✘ ACS: could not issue a token/);
  t.notMatch(run.stdout, /is left/);
  t.equal(acs.identityIds().length, before, 'nothing left in ACS');
});

t.test('the ACS emulator down: the fix names the endpoint', async (t) => {
  const down = await startAcsEmulator();
  const connectionString = down.connectionString;
  await down.close();
  const run = await doctor(t, { ...env, ACS_CONNECTION_STRING: connectionString, ACS_REQUEST_TIMEOUT_MS: '2000' });
  t.equal(run.code, 1);
  t.match(run.stdout, /✘ ACS: could not create an identity: .* — fix: check the endpoint in ACS_CONNECTION_STRING \(http:\/\/127\.0\.0\.1:\d+\)/);
  t.match(run.stdout, /✔ Database: migrations current/);
});

t.test('the database down: connection fails with the fix; the checks that need it say so', async (t) => {
  const url = new URL(database.url);
  url.port = String(await freePort());
  url.hostname = '127.0.0.1';
  const run = await doctor(t, { ...env, DATABASE_URL: url.toString(), DATABASE_TIMEOUT_MS: '2000' });
  t.equal(run.code, 1);
  t.match(run.stdout, /✘ Database: cannot connect to 127\.0\.0\.1:\d+\/\S+: .*ECONNREFUSED.* — fix: check DATABASE_URL/);
  t.match(run.stdout, /– Database: not checked: the database cannot be reached/);
  t.match(run.stdout, /✔ ACS: created, issued, deleted an identity/);
  t.match(run.stdout, /✔ Entra: tenant/);
});

t.test('a database that accepts and never answers: bounded, failed with the fix', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => { sockets.add(socket); });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { for (const socket of sockets) socket.destroy(); return new Promise((resolve) => silent.close(resolve)); });
  const url = new URL(database.url);
  url.hostname = '127.0.0.1';
  url.port = String((silent.address() as AddressInfo).port);
  const started = Date.now();
  const run = await doctor(t, { ...env, DATABASE_URL: url.toString(), DATABASE_TIMEOUT_MS: '1000' }, ['--read-only']);
  t.equal(run.code, 1);
  t.match(run.stdout, /✘ Database: cannot connect to 127\.0\.0\.1:\d+\/\S+: .*timeout.* — fix: check DATABASE_URL/);
  t.ok(Date.now() - started < 60_000, 'the doctor ended');
});

t.test('the checklist bounds each check: one that never ends fails with its fix, the next still runs', async (t) => {
  const lines: string[] = [];
  const result = await runChecklist([
    { group: 'Stuck', timeoutMs: 50, timeoutFix: 'unstick it', run: () => new Promise(() => undefined) },
    { group: 'Thrown', timeoutMs: 1000, timeoutFix: 'look at it', run: () => Promise.reject(new Error('outer', { cause: new Error('inner') })) },
    { group: 'Next', timeoutMs: 1000, timeoutFix: '', run: async () => [pass('ran'), fail('and failed', 'do this')] },
  ], (line) => lines.push(line));
  t.same(result, { failed: 3, warned: 0 });
  t.match(lines[0], /^✘ Stuck: no answer within 50 ms \(\d+ ms\) — fix: unstick it\n$/);
  t.match(lines[1], /^✘ Thrown: outer: inner \(\d+ ms\) — fix: look at it\n$/);
  t.match(lines[2], /^✔ Next: ran \(\d+ ms\)\n$/);
  t.match(lines[3], /^✘ Next: and failed \(\d+ ms\) — fix: do this\n$/);
});

t.test('migrations pending: named, fix npm run migrate', async (t) => {
  const empty = await createTestDatabase({ migrated: false });
  t.teardown(() => empty.drop());
  const run = await doctor(t, { ...env, ...empty.settings, DATABASE_URL: empty.url });
  t.equal(run.code, 1);
  t.match(run.stdout, /✘ Database: migrations pending: 001_identities\.sql, .* — fix: npm run migrate/);
  t.match(run.stdout, /✔ Database: reachable/);
  t.match(run.stdout, /✔ ACS: created, issued, deleted an identity/);
});

t.test('migrations pending with MIGRATE_ON_START=true: the service applies them at start, not a failure', async (t) => {
  const empty = await createTestDatabase({ migrated: false });
  t.teardown(() => empty.drop());
  const run = await doctor(t, { ...env, ...empty.settings, DATABASE_URL: empty.url, MIGRATE_ON_START: 'true' });
  t.match(run.stdout, /✔ Database: migrations pending: 001_identities\.sql, .*applied when the service starts \(MIGRATE_ON_START=true\)/);
  t.notMatch(run.stdout, /✘ Database: migrations/);
});

t.test('--read-only: no identity created, and the ACS line says what was not checked', async (t) => {
  acs.resetCounters();
  const before = acs.identityIds().length;
  const run = await doctor(t, env, ['--read-only']);
  t.equal(run.code, 0, run.stdout + run.stderr);
  t.match(run.stdout, /– ACS: not checked \(--read-only\): no identity was created/);
  t.equal(acs.counters.requests, 0, 'ACS was not called');
  t.equal(acs.identityIds().length, before);
  t.match(run.stdout, /✔ Database: migrations current/);
});

t.test('Teams on: not checked, and the line says it needs the operator\'s own sign-in', async (t) => {
  const run = await doctor(t, { ...env, AZURE_CLIENT_SECRET: entra.clientSecret }, ['--read-only']);
  t.equal(run.code, 0, run.stdout + run.stderr);
  t.match(run.stdout, /– Teams: not checked: the ACS service principal in the tenant and consent need the operator's own sign-in/);
});

t.test('an unknown argument is refused', async (t) => {
  const run = await doctor(t, env, ['--readonly']);
  t.equal(run.code, 1);
  t.match(run.stderr, /Unknown argument --readonly: the one argument is --read-only/);
});

/** A new login role granted the service's rights by the migration command; dropped after the test. */
async function grantedServiceRole(t: Test, prefix: string): Promise<{ role: string; serviceUrl: URL }> {
  const role = `${prefix}_${randomBytes(4).toString('hex')}`;
  await withClient(ADMIN_DATABASE_URL, (admin) => admin.query(`CREATE ROLE ${role} LOGIN`));
  t.teardown(() => withClient(ADMIN_DATABASE_URL, async (admin) => {
    await withClient(database.url, (client) => client.query(`DROP OWNED BY ${role}`));
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
  }));
  const granted = await startServiceProcess(t, { DATABASE_URL: database.url, DATABASE_SERVICE_ROLE: role }, 'src/db/migrateCli.ts');
  t.equal(await granted.exited, 0, granted.output().stderr);
  const serviceUrl = new URL(database.url);
  serviceUrl.username = role;
  return { role, serviceUrl };
}

t.test('the service role and DDL', { skip: TEST_DATABASE === 'pglite' && 'PGlite has one role, a superuser: there is no role to refuse DDL to' }, async (t) => {
  // As the superuser, with no DATABASE_SERVICE_ROLE: a warning with the fix, not a failure.
  const owner = await doctor(t, env, ['--read-only']);
  t.equal(owner.code, 0, owner.stdout + owner.stderr);
  t.match(owner.stdout, /! Database: the role postgres can run DDL \(CREATE on the schema public, CREATE on the database \S+, owner of the tables acs_identities, .*: it can DROP or ALTER them\) .*— fix: give the service a role of its own .*"Database roles"/);

  // A service role granted by the migration command: DDL refused.
  const { role, serviceUrl } = await grantedServiceRole(t, 'doctor_service');
  const service = await doctor(t, { ...env, DATABASE_URL: serviceUrl.toString() }, ['--read-only']);
  t.equal(service.code, 0, service.stdout + service.stderr);
  t.match(service.stdout, new RegExp(`✔ Database: the service's role ${role} cannot run DDL \\(no CREATE on the schema public or on the database, owner of none of its tables\\)`));

  // Run with the migration's settings: the named service role is asked about.
  const migration = await doctor(t, { ...env, DATABASE_SERVICE_ROLE: role }, ['--read-only']);
  t.equal(migration.code, 0, migration.stdout + migration.stderr);
  t.match(migration.stdout, new RegExp(`✔ Database: DATABASE_SERVICE_ROLE ${role} cannot run DDL \\(no CREATE on the schema public or on the database, owner of none of its tables; DATABASE_URL's role postgres, which migrates, can\\)`));
});

t.test('a read-only service role, as on a replica: its privileges are read, no DDL is tried', { skip: TEST_DATABASE === 'pglite' && 'PGlite has one role, a superuser' }, async (t) => {
  const { role, serviceUrl } = await grantedServiceRole(t, 'doctor_replica');
  const databaseName = decodeURIComponent(new URL(database.url).pathname.slice(1));
  // Every transaction of this role is read-only: any DDL fails with 25006, whatever its rights.
  await withClient(ADMIN_DATABASE_URL, (admin) => admin.query(`ALTER ROLE ${role} SET default_transaction_read_only = on`));
  const readOnly = await doctor(t, { ...env, DATABASE_URL: serviceUrl.toString() }, ['--read-only']);
  // The service writes (identities, audit events): a read-only database is a failure of its own.
  t.equal(readOnly.code, 1, readOnly.stdout + readOnly.stderr);
  t.match(readOnly.stdout, new RegExp(`✘ Database: ${role} cannot write here: transaction_read_only is on .*— fix: point DATABASE_URL at the primary server`));
  t.match(readOnly.stdout, new RegExp(`✔ Database: the service's role ${role} cannot run DDL \\(no CREATE on the schema public or on the database, owner of none of its tables\\)`));
  t.notMatch(readOnly.stdout, /read-only transaction/);

  // CREATE on the database (new schemas) is DDL too, read-only or not.
  await withClient(ADMIN_DATABASE_URL, (admin) => admin.query(`GRANT CREATE ON DATABASE "${databaseName}" TO ${role}`));
  const canCreate = await doctor(t, { ...env, DATABASE_URL: serviceUrl.toString() }, ['--read-only']);
  t.match(canCreate.stdout, new RegExp(`! Database: the role ${role} can run DDL \\(CREATE on the database ${databaseName}\\) .*— fix: give the service a role of its own`));

  // Asked about by name (the migration's settings), the same two rights are read.
  const named = await doctor(t, { ...env, DATABASE_SERVICE_ROLE: role }, ['--read-only']);
  t.equal(named.code, 1, named.stdout + named.stderr);
  t.match(named.stdout, new RegExp(`✘ Database: DATABASE_SERVICE_ROLE ${role} can run DDL \\(CREATE on the database ${databaseName}\\)`));
});

t.test('a role not granted the service\'s rights: the migrations line says so, with the grant as its fix', { skip: TEST_DATABASE === 'pglite' && 'PGlite has one role, a superuser' }, async (t) => {
  const role = `doctor_bare_${randomBytes(4).toString('hex')}`;
  await withClient(ADMIN_DATABASE_URL, (admin) => admin.query(`CREATE ROLE ${role} LOGIN`));
  t.teardown(() => withClient(ADMIN_DATABASE_URL, (admin) => admin.query(`DROP ROLE IF EXISTS ${role}`)));
  const bareUrl = new URL(database.url);
  bareUrl.username = role;
  const run = await doctor(t, { ...env, DATABASE_URL: bareUrl.toString() }, ['--read-only']);
  t.equal(run.code, 1);
  t.match(run.stdout, new RegExp(`✘ Database: ${role} cannot read the applied migrations: permission denied for table schema_migrations .*— fix: npm run migrate with DATABASE_SERVICE_ROLE=${role} grants the service's role its rights: docs/operations.md "Database roles"`));
});

t.test('a hyphenated, mixed-case service role: the REVOKE it prints quotes the role and the database', { skip: TEST_DATABASE === 'pglite' && 'PGlite has one role, a superuser' }, async (t) => {
  const role = `Doctor-Svc-${randomBytes(3).toString('hex')}`;
  const databaseName = decodeURIComponent(new URL(database.url).pathname.slice(1));
  await withClient(ADMIN_DATABASE_URL, (admin) => admin.query(`CREATE ROLE "${role}" LOGIN`));
  t.teardown(() => withClient(ADMIN_DATABASE_URL, async (admin) => {
    await admin.query(`REVOKE CREATE ON DATABASE "${databaseName}" FROM "${role}"`);
    await admin.query(`DROP ROLE IF EXISTS "${role}"`);
  }));
  await withClient(ADMIN_DATABASE_URL, (admin) => admin.query(`GRANT CREATE ON DATABASE "${databaseName}" TO "${role}"`));
  const run = await doctor(t, { ...env, DATABASE_SERVICE_ROLE: role }, ['--read-only']);
  t.equal(run.code, 1, run.stdout + run.stderr);
  t.match(run.stdout, `✘ Database: DATABASE_SERVICE_ROLE ${role} can run DDL (CREATE on the database ${databaseName})`);
  t.match(run.stdout, `REVOKE CREATE ON DATABASE "${databaseName}" FROM "${role}", as the database's owner`);
  t.notMatch(run.stdout, /FROM PUBLIC/);
});

t.test('a service role that owns the service\'s tables can DROP or ALTER them: not "cannot run DDL"', { skip: TEST_DATABASE === 'pglite' && 'PGlite has one role, a superuser' }, async (t) => {
  const own = await createTestDatabase();
  const role = `Doctor-Owner-${randomBytes(3).toString('hex')}`;
  await withClient(ADMIN_DATABASE_URL, (admin) => admin.query(`CREATE ROLE "${role}" LOGIN`));
  t.teardown(async () => {
    await own.drop();
    await withClient(ADMIN_DATABASE_URL, (admin) => admin.query(`DROP ROLE IF EXISTS "${role}"`));
  });
  await withClient(own.url, (client) => client.query(`ALTER TABLE audit_events OWNER TO "${role}"`));
  const named = await doctor(t, { ...env, DATABASE_URL: own.url, DATABASE_SERVICE_ROLE: role }, ['--read-only']);
  t.equal(named.code, 1, named.stdout + named.stderr);
  t.match(named.stdout, `✘ Database: DATABASE_SERVICE_ROLE ${role} can run DDL (owner of the table audit_events: it can DROP or ALTER it)`);
  t.match(named.stdout, `ALTER TABLE "audit_events" OWNER TO "postgres"`);
  t.notMatch(named.stdout, /cannot run DDL/);

  const serviceUrl = new URL(own.url);
  serviceUrl.username = role;
  const asService = await doctor(t, { ...env, DATABASE_URL: serviceUrl.toString() }, ['--read-only']);
  t.match(asService.stdout, `! Database: the role ${role} can run DDL (owner of the table audit_events: it can DROP or ALTER it)`);
  t.notMatch(asService.stdout, /cannot run DDL/);
});
