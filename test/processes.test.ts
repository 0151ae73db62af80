// The service and the migration script as real processes, the way `npm start` and
// `npm run migrate` run them: configuration errors exit 1 naming the problem, the server
// serves on a real port, and SIGTERM closes it gracefully with exit code 0.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startAcsEmulator } from '../emulators/acsEmulator.js';
import { startEntraEmulator } from '../emulators/entraEmulator.js';
import { moduleHooksNodeOptions } from './helpers/moduleHooks.js';
import { createTestDatabase } from './helpers/testDatabase.js';
import { startServiceProcess } from './helpers/serviceProcess.js';
import { testServiceEnv } from './helpers/testServiceEnv.js';

// Starts service processes, each transpiling src/ with tsx before it listens: a time budget of
// its own (README, Tests).
t.setTimeout(240_000);

t.test('in production, no configuration is an error naming what is missing, never local mode', async (t) => {
  const service = await startServiceProcess(t, { NODE_ENV: 'production' });
  t.equal(await service.exited, 1);
  const { stdout, stderr } = service.output();
  t.match(stderr, /DATABASE_URL is required/);
  t.match(stderr, /ACS_CONNECTION_STRING \(or ACS_ENDPOINT\) is required/);
  t.match(stderr, /AZURE_CLIENT_ID is required/);
  t.match(stderr, /AZURE_TENANT_ID \(or AUTH_ALLOWED_TENANTS\) is required/);
  t.match(stderr, /Local mode .* never used with NODE_ENV=production/);
  t.match(stderr, /\.env\.example/);
  t.notMatch(stdout, /LOCAL MODE/);
});

t.test('a partial Azure configuration is an error too, not local mode', async (t) => {
  const service = await startServiceProcess(t, { AZURE_CLIENT_ID: 'some-app' });
  t.equal(await service.exited, 1);
  t.match(service.output().stderr, /ACS_CONNECTION_STRING \(or ACS_ENDPOINT\) is required/);
  t.notMatch(service.output().stderr, /AZURE_CLIENT_ID is required/);
  // A developer's shell often exports it for other Azure tools: say why this is not local mode.
  t.match(service.output().stderr, /Local mode .* is off because AZURE_CLIENT_ID is set/);
});

t.test('a configuration error of local mode itself says nothing of local mode being off', async (t) => {
  const service = await startServiceProcess(t, { LOCAL_ACS_TOKEN_SECONDS: '1', PGLITE_DATA_DIR: 'memory://' });
  t.equal(await service.exited, 1);
  t.match(service.output().stderr, /LOCAL_ACS_TOKEN_SECONDS/, 'the problem is named');
  t.notMatch(service.output().stderr, /is off because/);
});

t.test('a port already in use (PORT, METRICS_PORT) is named, with what to do, and no stack trace', async (t) => {
  const { createServer } = await import('node:net');
  const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase()]);
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => { taken.close(); await Promise.all([entra.close(), acs.close()]); await database.drop(); });
  const port = String((taken.address() as { port: number }).port);
  for (const [variable, env] of [['PORT', { PORT: port }], ['METRICS_PORT', { METRICS_PORT: port }]] as const) {
    const service = await startServiceProcess(t, { ...testServiceEnv({ entra, acs, database }), ...env });
    t.equal(await service.exited, 1, `${variable}: exit 1`);
    const { stderr } = service.output();
    t.match(stderr, new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is in use by another process`), `${variable}: the port is named`);
    t.match(stderr, new RegExp(`${variable}=`), `${variable}: the setting to change is named`);
    t.notMatch(stderr, /\n\s+at /, `${variable}: no stack trace`);
  }
});

t.test('migrate, serve, answer, and stop on SIGTERM: readiness first, in-flight requests finish', async (t) => {
  const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase({ migrated: false })]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close()]); await database.drop(); });

  const migrated = await startServiceProcess(t, { DATABASE_URL: database.url }, 'src/db/migrateCli.ts');
  t.equal(await migrated.exited, 0, migrated.output().stderr);
  t.match(migrated.output().stdout, /Applied: 001_identities\.sql/);
  const again = await startServiceProcess(t, { DATABASE_URL: database.url }, 'src/db/migrateCli.ts');
  t.equal(await again.exited, 0);
  t.match(again.output().stdout, /up to date/);

  const service = await startServiceProcess(t, {
    ...testServiceEnv({ entra, acs, database }),
    SHUTDOWN_DELAY_MS: '1000',
  });
  t.ok(service.url, 'listening');
  const auth = { authorization: `Bearer ${entra.mintAccessToken()}` };
  t.equal((await fetch(`${service.url}/readyz`)).status, 200);
  const first = await fetch(`${service.url}/api/token?scopes=chat`, { headers: auth });
  t.equal(first.status, 200);
  // The line is written asynchronously: wait for it, so that the check below reads it.
  const requestLine = new RegExp(`"reqId":"${first.headers.get('x-request-id')}".*"msg":"request"`);
  const answered = Date.now();
  while (!requestLine.test(service.output().stdout) && Date.now() - answered < 2000) await new Promise((resolve) => setTimeout(resolve, 10));
  t.match(service.output().stdout, requestLine, `the request's log line was written (${Date.now() - answered} ms after the answer)`);
  t.notOk(service.output().stdout.includes(((await first.json()) as { token: string }).token.split('.')[2]!), 'the ACS token is not logged');

  // A request held slow by ACS is in flight when SIGTERM arrives.
  acs.setLatency(1500);
  const inFlight = fetch(`${service.url}/api/token`, { headers: auth });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const signalled = Date.now();
  service.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const readiness = await fetch(`${service.url}/readyz`);
  t.equal(readiness.status, 503, 'readiness turns 503 first');
  t.match(await readiness.json(), { code: 'not_ready', detail: /shutting down/ });
  t.equal((await fetch(`${service.url}/healthz`)).status, 200, 'still serving during the delay');
  const lastAnswer = await inFlight;
  t.equal(lastAnswer.status, 200, 'the request in flight completed');

  t.equal(await service.exited, 0, 'exit code 0');
  t.ok(Date.now() - signalled < 6000, `exited ${Date.now() - signalled} ms after SIGTERM`);
  await t.rejects(fetch(`${service.url}/healthz`), 'no longer accepting connections');
  t.match(service.output().stdout, /"signal":"SIGTERM"/);
  t.match(service.output().stdout, new RegExp(`"reqId":"${lastAnswer.headers.get('x-request-id')}".*"msg":"request"`), "the last request's log line was written before the exit");
});

// Local mode's code: its folder, the emulators, and the development dependencies they need.
const LOCAL_MODE_MODULE = /\/src\/local\/|\/emulators\/|\/node_modules\/(@electric-sql|selfsigned|pino-pretty)\//;

t.test('a configured service in production loads none of local mode: not src/local, the emulators, PGlite, selfsigned or pino-pretty', async (t) => {
  const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase()]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close()]); await database.drop(); });
  const logFile = join(t.testdir({}), 'modules.txt');
  const service = await startServiceProcess(t, {
    ...testServiceEnv({ entra, acs, database }),
    NODE_ENV: 'production',
    AUDIT_HASH_KEY: randomBytes(32).toString('base64url'),
    METRICS_TOKEN: randomBytes(24).toString('base64url'),
    NODE_OPTIONS: moduleHooksNodeOptions({ logFile }),
  });
  t.ok(service.url, `listening\n${service.output().stderr}`);
  const answer = await fetch(`${service.url}/api/token?scopes=chat`, { headers: { authorization: `Bearer ${entra.mintAccessToken()}` } });
  t.equal(answer.status, 200, 'a token: the request path ran too');
  service.kill('SIGTERM');
  t.equal(await service.exited, 0);

  const loaded = readFileSync(logFile, 'utf8').trim().split('\n');
  t.ok(loaded.some((url) => url.endsWith('/src/app.ts')) && loaded.some((url) => url.includes('/node_modules/fastify/')), 'the hooks saw the service\'s modules');
  t.same(loaded.filter((url) => LOCAL_MODE_MODULE.test(url)), [], 'nothing of local mode');
});

t.test('local mode without the development dependencies says to run npm install', async (t) => {
  const logFile = join(t.testdir({}), 'modules.txt');
  const service = await startServiceProcess(t, {
    PGLITE_DATA_DIR: 'memory://',
    // What npm ci --omit=dev leaves out.
    NODE_OPTIONS: moduleHooksNodeOptions({ logFile, missing: ['selfsigned', '@electric-sql/pglite', '@electric-sql/pglite-socket', 'pino-pretty'] }),
  });
  t.equal(await service.exited, 1);
  const { stdout, stderr } = service.output();
  t.match(stderr, /No Azure setting is set, so this is local mode, which needs the development dependencies: run npm install/);
  t.match(stderr, /Cannot find package '(selfsigned|@electric-sql\/pglite|pino-pretty)/, 'and which one is missing');
  t.notMatch(stdout, /LOCAL MODE/);
  t.ok(readFileSync(logFile, 'utf8').split('\n').some((url) => url.endsWith('/src/local/localMode.ts')), 'the hooks see local mode when it loads (so the test above can fail)');
});
