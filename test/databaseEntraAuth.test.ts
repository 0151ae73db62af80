// Passwordless PostgreSQL (DATABASE_AUTH=entra): each new connection's password is an Entra
// access token that the real @azure/identity ManagedIdentityCredential gets from the Entra ID
// emulator's managed identity endpoint (IDENTITY_ENDPOINT, as on Container Apps). Azure's server
// checks the token; here a cluster of the test's own, with scram-sha-256 on every line (the
// shared one trusts loopback, which would prove nothing), knows a role's token as its password.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { DatabaseTokens } from '../src/db/databaseTokens.js';
import { migrate } from '../src/db/migrations.js';
import { createPool } from '../src/db/pool.js';
import { entraCredential } from '../src/shared/entraCredential.js';
import { freePort } from './helpers/freePort.js';
import { startServiceProcess } from './helpers/serviceProcess.js';
import { TEST_DATABASE, withClient } from './helpers/testDatabase.js';
import { startOtherReplica, startTestService } from './helpers/testService.js';

// A cluster of its own, a token that must expire, and a migration process (tsx transpiles it):
// a time budget of its own (README, Tests).
t.setTimeout(180_000);

// The newest PostgreSQL installed (Debian's layout).
const PG_VERSIONS = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((version) => /^\d+$/.test(version)).sort((a, b) => Number(b) - Number(a)) : [];
const PG_BIN = PG_VERSIONS.map((version) => `/usr/lib/postgresql/${version}/bin`).find((bin) => existsSync(join(bin, 'initdb')));
const missing = 'Entra sign-in needs PostgreSQL\'s initdb and pg_ctl in /usr/lib/postgresql/<version>/bin';
// CI installs PostgreSQL: there a missing initdb is a failure, not a skip.
if (!PG_BIN && TEST_DATABASE !== 'pglite' && process.env.CI === 'true') throw new Error(`${missing}, and CI has none`);
const skip = TEST_DATABASE === 'pglite'
  ? 'PGlite signs nobody in: Entra sign-in is tested on a PostgreSQL cluster of the test\'s own, with scram-sha-256'
  : !PG_BIN && missing;

// What Azure Database for PostgreSQL's tokens are issued for (the scope without /.default).
const DATABASE_RESOURCE = 'https://ossrdbms-aad.database.windows.net';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Cluster {
  /** A URL on the cluster: as `user` (with `password`, or none), to `database`. */
  url(user: string, database: string, password?: string): string;
  superuserUrl(database: string): string;
  /** Runs `run` as the cluster's superuser on `database`. */
  asSuperuser<T>(database: string, run: (client: pg.Client) => Promise<T>): Promise<T>;
}

/**
 * A PostgreSQL cluster in a temporary folder, every sign-in by scram-sha-256; stopped and
 * removed at `t`'s teardown, or when the process exits or is killed (tap's timeout) before it.
 */
async function startScramCluster(t: { ok(value: unknown, message: string): void; teardown(fn: () => unknown): void }): Promise<Cluster> {
  const bin = PG_BIN!;
  // initdb refuses to run as root (CI's user): the cluster then belongs to the postgres OS user.
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]) => execFileSync(asRoot ? 'runuser' : join(bin, command),
    asRoot ? ['-u', 'postgres', '--', join(bin, command), ...args] : args, { stdio: 'pipe', timeout: 90_000 });
  const dir = mkdtempSync(join(tmpdir(), 'acs-entra-pg-'));
  const data = join(dir, 'data');
  // Synchronous, so that it runs on 'exit' too.
  const stop = () => {
    process.off('exit', stop);
    for (const signal of STOP_SIGNALS) process.off(signal, stopAndExit);
    try {
      if (existsSync(join(data, 'postmaster.pid'))) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const stopAndExit = (signal: NodeJS.Signals) => {
    try { stop(); } finally { process.exit(128 + osConstants.signals[signal]); }
  };
  process.on('exit', stop);
  for (const signal of STOP_SIGNALS) process.on(signal, stopAndExit);
  t.teardown(stop);
  const passwordFile = join(dir, 'superuser-password');
  const superuserPassword = randomBytes(18).toString('base64url');
  writeFileSync(passwordFile, superuserPassword);
  if (asRoot) {
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres']).toString()));
    chownSync(dir, uid!, gid!);
    chownSync(passwordFile, uid!, gid!);
  }
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${passwordFile}`, '--no-sync']);
  const hba = readFileSync(join(data, 'pg_hba.conf'), 'utf8').split('\n').filter((line) => /^\s*(host|local)/.test(line));
  t.ok(hba.length > 0 && hba.every((line) => /\sscram-sha-256\s*$/.test(line)), 'every line of pg_hba.conf asks for scram-sha-256');
  const port = await freePort();
  try {
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir}`, 'start']);
  } catch (error) {
    // A server that did not answer in time may still be starting.
    stop();
    throw error;
  }
  const url = (user: string, database: string, password?: string) =>
    `postgres://${user}${password === undefined ? '' : `:${encodeURIComponent(password)}`}@127.0.0.1:${port}/${database}`;
  const superuserUrl = (database: string) => url('postgres', database, superuserPassword);
  return { url, superuserUrl, asSuperuser: (database, run) => withClient(superuserUrl(database), run) };
}

/** /readyz of `app` until it answers `status` (its answer is kept a second), or the last answer. */
async function readiness(app: FastifyInstance, status: number): Promise<{ statusCode: number; json: { checks?: Record<string, string> } }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await app.inject({ url: '/readyz' });
    if (answer.statusCode === status || Date.now() > deadline) return { statusCode: answer.statusCode, json: answer.json() };
    await sleep(200);
  }
}

const identityModules = () => Object.keys(createRequire(import.meta.url).cache).filter((file) => file.includes('/node_modules/@azure/identity/'));

t.test('DATABASE_AUTH=entra: Entra tokens as passwords, from the managed identity endpoint', { skip }, async (t) => {
  const [cluster, svc] = await Promise.all([startScramCluster(t), startTestService(t)]);
  t.same(identityModules(), [], 'a service that signs in with a password never loads @azure/identity');

  // The managed identity endpoint of Container Apps, found by the real credential through these.
  const { managedIdentity } = svc.entra;
  process.env.IDENTITY_ENDPOINT = managedIdentity.endpoint;
  process.env.IDENTITY_HEADER = managedIdentity.header;
  t.teardown(() => { delete process.env.IDENTITY_ENDPOINT; delete process.env.IDENTITY_HEADER; });
  const tokenRequests = () => svc.entra.requests.filter((path) => path.startsWith('/msi/token')).length;

  // The service's database, migrated by the superuser, with the service's role granted.
  await cluster.asSuperuser('postgres', async (admin) => {
    await admin.query('CREATE ROLE acs_service LOGIN');
    await admin.query('CREATE DATABASE acs');
  });
  const migrator = createPool({ connectionString: cluster.superuserUrl('acs'), max: 1, timeoutMs: 10_000, idleInTransactionTimeoutMs: 10_000 });
  try {
    await migrate(migrator, undefined, { serviceRole: 'acs_service' });
  } finally {
    await migrator.end();
  }

  const logLines: string[] = [];
  const tokens: string[] = [];
  const known = (token: string) => { tokens.push(token); return token; };
  const replica = (clientId: string, env: Record<string, string> = {}) => startOtherReplica(t, svc, {
    DATABASE_URL: cluster.url('acs_service', 'acs'),
    DATABASE_AUTH: 'entra',
    DATABASE_CREDENTIAL_CLIENT_ID: clientId,
    LOG_LEVEL: 'info',
    // No deletion pass during the test: every new connection is one the test makes.
    ACS_DELETION_RETRY_INTERVAL_SECONDS: '3600',
    ...env,
  }, { logStream: { write: (line) => { logLines.push(line); } } });
  const terminate = (role: string) => cluster.asSuperuser('postgres', (admin) => admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]));

  await t.test('a token works; one token serves many connections; a new connection after its expiry gets the next one', async (t) => {
    const identity = managedIdentity.addIdentity();
    const issued = () => managedIdentity.issued.get(identity.clientId) ?? 0;
    // The first token's life (renewed from half of it) counts from when the replica has started,
    // however long that took: until then the endpoint refuses, as for an unknown identity.
    managedIdentity.setFault({ status: 400, message: 'Unable to load the proper Managed Identity.' });
    t.teardown(() => managedIdentity.setFault(undefined));
    const app = await replica(identity.clientId);
    await t.rejects(app.pool.query('SELECT 1'), /No Microsoft Entra token for the database/, 'no connection while the endpoint refuses');
    managedIdentity.setFault(undefined);
    t.equal(issued(), 0, 'no token yet');

    const lifetimeSeconds = 20;
    const first = known(managedIdentity.nextToken(identity.clientId, DATABASE_RESOURCE, lifetimeSeconds));
    const expiresAt = Date.now() + lifetimeSeconds * 1000;
    await cluster.asSuperuser('postgres', (admin) => admin.query(`ALTER ROLE acs_service PASSWORD '${first}'`));
    t.equal((await readiness(app, 200)).statusCode, 200, 'ready: the database took the token');
    const clients = await Promise.all(Array.from({ length: 4 }, () => app.pool.connect()));
    const users = await Promise.all(clients.map((client) => client.query<{ current_user: string }>('SELECT current_user')));
    for (const client of clients) client.release();
    t.same(users.map((result) => result.rows[0]!.current_user), Array(4).fill('acs_service'), 'four connections more, as the service\'s role');
    const answer = await app.inject({ url: '/api/token?scopes=chat', headers: { authorization: `Bearer ${svc.userToken()}` } });
    t.equal(answer.statusCode, 200, 'a request stores its mapping through that role');
    t.equal(issued(), 1, `one token for them all (${Date.now() - (expiresAt - lifetimeSeconds * 1000)} ms into its life)`);

    // Past the first token's expiry, the role's password is the next token the endpoint will
    // issue: a connection that got the first one again would be refused.
    await sleep(Math.max(0, expiresAt - Date.now()) + 500);
    const next = known(managedIdentity.nextToken(identity.clientId, DATABASE_RESOURCE, 3600));
    await cluster.asSuperuser('postgres', (admin) => admin.query(`ALTER ROLE acs_service PASSWORD '${next}'`));
    await terminate('acs_service');
    await sleep(200);
    const { rows } = await app.pool.query<{ current_user: string }>('SELECT current_user');
    t.equal(rows[0]!.current_user, 'acs_service', 'a new connection after the expiry signs in with the next token');
    t.equal(issued(), 2, 'asked once more, at the expiry');
  });

  await t.test('a token is renewed before its expiry: in the background while it is good, awaited once it is not', async (t) => {
    const identity = managedIdentity.addIdentity();
    const issued = () => managedIdentity.issued.get(identity.clientId) ?? 0;
    // This replica's clock moves on at the test's word; the tokens' expiries are real ones.
    let clock = Date.now();
    const tokens = new DatabaseTokens(() => entraCredential(identity.clientId), 5000, () => clock);
    const lifetimeSeconds = 100;
    const first = managedIdentity.nextToken(identity.clientId, DATABASE_RESOURCE, lifetimeSeconds);
    const firstExpiry = Date.now() + lifetimeSeconds * 1000;
    t.same(await Promise.all([tokens.password(), tokens.password(), tokens.password()]), [first, first, first], 'connections opening together share one request');
    t.equal(issued(), 1);
    clock += 40_000;
    t.equal(await tokens.password(), first, 'kept while far from its expiry');
    t.equal(issued(), 1, 'no request');

    const second = managedIdentity.nextToken(identity.clientId, DATABASE_RESOURCE, lifetimeSeconds);
    clock = firstExpiry - 40_000;
    t.equal(await tokens.password(), first, 'past half its life: still handed out, while a new one is asked for');
    const deadline = Date.now() + 5000;
    while (issued() < 2 && Date.now() < deadline) await sleep(20);
    t.equal(issued(), 2, 'renewed in the background');
    t.equal(await tokens.password(), second, 'the new token from then on');

    const third = managedIdentity.nextToken(identity.clientId, DATABASE_RESOURCE, lifetimeSeconds);
    clock = Date.now() + lifetimeSeconds * 1000 - 2000;
    t.equal(await tokens.password(), third, 'about to expire: never handed out, the next one awaited');
    t.equal(issued(), 3);
  });

  await t.test('a token the database does not take: /readyz says the database is down, and nothing secret is logged', async (t) => {
    const identity = managedIdentity.addIdentity();
    known(managedIdentity.nextToken(identity.clientId, DATABASE_RESOURCE));
    const app = await replica(identity.clientId);
    const ready = await readiness(app, 503);
    t.equal(ready.statusCode, 503, 'not ready');
    t.equal(ready.json.checks?.database, 'failing', 'the database is down: it refused the sign-in');
  });

  await t.test('no token (the endpoint refuses, or does not answer): a bounded failure, and the next connection asks again', async (t) => {
    const unknownClientId = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const app = await replica(unknownClientId, { DATABASE_TIMEOUT_MS: '1000' });
    const before = tokenRequests();
    const refused = await readiness(app, 503);
    t.equal(refused.json.checks?.database, 'failing', 'refused by the endpoint: the database is down');
    t.ok(tokenRequests() > before, 'asked');
    // The start's own first statement may still be failing: counted from when it has.
    await sleep(500);
    const settled = tokenRequests();
    await sleep(1500);
    t.equal(tokenRequests(), settled, 'no retry of its own while nothing connects');
    await t.rejects(app.pool.query('SELECT 1'), /No Microsoft Entra token for the database/, 'a connection fails with a clear error');
    t.equal(tokenRequests(), settled + 1, 'the next connection asked again, once');
    const request = await app.inject({ url: '/api/token?scopes=chat', headers: { authorization: `Bearer ${svc.userToken()}` } });
    t.match({ status: request.statusCode, body: request.json() }, { status: 503, body: { code: 'database_unavailable' } }, 'a request is answered 503 database_unavailable');

    managedIdentity.setFault({ delayMs: 4000 });
    t.teardown(() => managedIdentity.setFault(undefined));
    const started = Date.now();
    await t.rejects(app.pool.query('SELECT 1'), 'an endpoint that does not answer fails the connection');
    t.ok(Date.now() - started < 3000, `within the database timeout (${Date.now() - started} ms)`);
  });

  await t.test('a server without Azure\'s function: creating the role is refused, naming why, and nothing changes', async (t) => {
    const pool = createPool({ connectionString: cluster.superuserUrl('acs'), max: 1, timeoutMs: 10_000, idleInTransactionTimeoutMs: 10_000 });
    try {
      await t.rejects(migrate(pool, undefined, { serviceRole: 'acs_nobody', serviceRoleObjectId: randomUUID() }),
        { name: 'Error', message: /acs_nobody does not exist, and this server has no pgaadauth_create_principal_with_oid/ });
      const { rows } = await pool.query("SELECT 1 FROM pg_roles WHERE rolname = 'acs_nobody'");
      t.equal(rows.length, 0, 'no role');
    } finally {
      await pool.end();
    }
  });

  await t.test('the migration command signs in as the Entra administrator and creates the service\'s role for its object id', async (t) => {
    const administrator = managedIdentity.addIdentity();
    const service = managedIdentity.addIdentity();
    await cluster.asSuperuser('postgres', async (admin) => {
      const adminToken = known(managedIdentity.nextToken(administrator.clientId, DATABASE_RESOURCE));
      await admin.query(`CREATE ROLE entra_admin LOGIN CREATEROLE PASSWORD '${adminToken}'`);
      await admin.query('CREATE DATABASE acs_entra OWNER entra_admin');
    });
    await cluster.asSuperuser('acs_entra', async (admin) => {
      // A stand-in for Azure's function, which this cluster does not have (no Azure extension):
      // the same signature; it creates a LOGIN role and notes the principal on it, as Azure's
      // security label does. Azure then checks that principal's tokens; here the test sets the
      // role's password to one.
      await admin.query(`
        CREATE FUNCTION public.pgaadauth_create_principal_with_oid(roleName text, objectId text, objectType text, isAdmin boolean, isMfa boolean)
        RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
        BEGIN
          EXECUTE format('CREATE ROLE %I LOGIN', roleName);
          EXECUTE format('COMMENT ON ROLE %I IS %L', roleName, format('aadauth,oid=%s,type=%s,admin=%s,mfa=%s', objectId, objectType, isAdmin::text, isMfa::text));
          RETURN 'Created role for ' || roleName;
        END $$`);
      await admin.query('REVOKE EXECUTE ON FUNCTION public.pgaadauth_create_principal_with_oid(text, text, text, boolean, boolean) FROM PUBLIC');
      await admin.query('GRANT EXECUTE ON FUNCTION public.pgaadauth_create_principal_with_oid(text, text, text, boolean, boolean) TO entra_admin');
    });

    const migration = await startServiceProcess(t, {
      DATABASE_URL: cluster.url('entra_admin', 'acs_entra'),
      DATABASE_AUTH: 'entra',
      DATABASE_CREDENTIAL_CLIENT_ID: administrator.clientId,
      DATABASE_SERVICE_ROLE: 'acs_entra_service',
      DATABASE_SERVICE_ROLE_OBJECT_ID: service.objectId,
      IDENTITY_ENDPOINT: managedIdentity.endpoint,
      IDENTITY_HEADER: managedIdentity.header,
    }, 'src/db/migrateCli.ts');
    t.equal(await migration.exited, 0, `migrated\n${migration.output().stderr}`);
    t.match(migration.output().stdout, /Applied: 001_identities\.sql/);
    t.match(migration.output().stdout, /granted to acs_entra_service/);
    const label = await cluster.asSuperuser('postgres', (admin) =>
      admin.query<{ label: string | null }>("SELECT shobj_description(oid, 'pg_authid') AS label FROM pg_roles WHERE rolname = 'acs_entra_service'"));
    t.equal(label.rows[0]?.label, `aadauth,oid=${service.objectId},type=service,admin=false,mfa=false`, 'created for the service\'s object id, as a service principal');

    const serviceToken = known(managedIdentity.nextToken(service.clientId, DATABASE_RESOURCE));
    await cluster.asSuperuser('postgres', (admin) => admin.query(`ALTER ROLE acs_entra_service PASSWORD '${serviceToken}'`));
    const app = await replica(service.clientId, { DATABASE_URL: cluster.url('acs_entra_service', 'acs_entra') });
    t.equal((await readiness(app, 200)).statusCode, 200, 'the service signs in as the role the migration created');
    const answer = await app.inject({ url: '/api/token?scopes=chat', headers: { authorization: `Bearer ${svc.userToken()}` } });
    t.equal(answer.statusCode, 200, 'with the rights it was granted');
    t.notOk(tokens.some((token) => migration.output().stdout.includes(token) || migration.output().stderr.includes(token)), 'no token in the migration\'s output');
  });

  const log = logLines.join('');
  t.ok(log.length > 0, 'the replicas logged');
  t.notOk(tokens.some((token) => log.includes(token) || log.includes(token.split('.')[2]!)), 'no database token in the logs');
});
