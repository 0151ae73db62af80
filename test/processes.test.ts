// The service and the migration script as real processes, the way `npm start` and
// `npm run migrate` run them: configuration errors exit 1 naming the problem, the server
// serves on a real port, and SIGTERM closes it with exit code 0.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import t from 'tap';
import { projectFile } from '../src/projectFiles.js';
import { startAcsEmulator } from '../src/emulators/acsEmulator.js';
import { startEntraEmulator } from '../src/emulators/entraEmulator.js';
import { createTestDatabase, TEST_DATABASE_ENV } from './helpers/testDatabase.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(script: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', projectFile(script)], {
    cwd: t.testdir({}), // no .env here
    // tap would record the child's coverage too, but tsx transpiles src/ differently from tap's
    // loader, and merging the two garbles the coverage report: the child records none.
    env: { PATH: process.env.PATH, _TAPJS_PROCESSINFO_COVERAGE_: '0', ...env },
  });
  const run: Run = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (chunk) => { run.stdout += chunk; });
  child.stderr.on('data', (chunk) => { run.stderr += chunk; });
  const exited = once(child, 'exit').then(([code]) => { run.code = code as number | null; return run; });
  return { child, run, exited };
}

t.test('in production, no configuration is an error naming what is missing, never local mode', async (t) => {
  const result = await start('src/server.ts', { NODE_ENV: 'production' }).exited;
  t.equal(result.code, 1);
  t.match(result.stderr, /DATABASE_URL is required/);
  t.match(result.stderr, /ACS_CONNECTION_STRING is required/);
  t.match(result.stderr, /AZURE_CLIENT_ID is required/);
  t.match(result.stderr, /AZURE_TENANT_ID \(or AUTH_ALLOWED_TENANTS\) is required/);
  t.match(result.stderr, /Local mode .* never used with NODE_ENV=production/);
  t.match(result.stderr, /\.env\.example/);
  t.notMatch(result.stdout, /LOCAL MODE/);
});

t.test('a partial Azure configuration is an error too, not local mode', async (t) => {
  const result = await start('src/server.ts', { AZURE_CLIENT_ID: 'some-app' }).exited;
  t.equal(result.code, 1);
  t.match(result.stderr, /ACS_CONNECTION_STRING is required/);
  t.notMatch(result.stderr, /AZURE_CLIENT_ID is required/);
});

t.test('migrate, serve, answer, and stop on SIGTERM', async (t) => {
  const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase({ migrated: false })]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close()]); await database.drop(); });

  const migrated = await start('src/db/migrateCli.ts', { DATABASE_URL: database.url }).exited;
  t.equal(migrated.code, 0, migrated.stderr);
  t.match(migrated.stdout, /Applied: 001_identities\.sql/);
  const again = await start('src/db/migrateCli.ts', { DATABASE_URL: database.url }).exited;
  t.match(again.stdout, /up to date/);

  const server = start('src/server.ts', {
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info',
    ...TEST_DATABASE_ENV,
    DATABASE_URL: database.url,
    ACS_CONNECTION_STRING: acs.connectionString,
    AZURE_TENANT_ID: entra.tenantId,
    AZURE_CLIENT_ID: entra.clientId,
    AZURE_AUTHORITY_HOST: entra.authorityHost,
  });
  // Fastify logs the address it listens on; PORT=0 lets the system choose it.
  let address: string | undefined;
  for (let i = 0; i < 100 && !address; i++) {
    address = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(server.run.stdout)?.[1];
    if (!address) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(address, `listening: ${address}`);

  const ready = await fetch(`${address}/readyz`);
  t.equal(ready.status, 200);
  const token = await fetch(`${address}/api/token?scopes=chat`, { headers: { authorization: `Bearer ${entra.mintAccessToken()}` } });
  t.equal(token.status, 200);
  t.equal(acs.counters.identitiesCreated, 1);
  t.notOk(server.run.stdout.includes((await token.json() as { token: string }).token.split('.')[2]!), 'the ACS token is not logged');

  server.child.kill('SIGTERM');
  const stopped = await server.exited;
  t.equal(stopped.code, 0, 'exit code 0 after SIGTERM');
  t.match(stopped.stdout, /"signal":"SIGTERM"/);
});
