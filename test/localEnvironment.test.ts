// Local mode in-process: the mode decision, the local token route, and the service working
// end to end on PGlite with the emulators it starts itself (Teams on-behalf-of included).
import { readFileSync, rmSync } from 'node:fs';
import t from 'tap';
import { buildApp } from '../src/app.js';
import { isLocalMode } from '../src/config/localModeSwitch.js';
import { LOCAL_TENANTS, startLocalEnvironment } from '../src/local/localMode.js';
import { projectFile } from '../src/projectFiles.js';
import { assertMatchesContract } from './helpers/contractValidator.js';

// Several local services start here, and one idles past the pool's idle timeout: a time budget
// of its own (README, Tests).
t.setTimeout(240_000);

t.test('local mode only without any Azure setting, and never in production', async (t) => {
  t.equal(isLocalMode({}), true);
  t.equal(isLocalMode({ AZURE_TENANT_ID: '', DATABASE_URL: 'postgres://x' }), true, 'empty is unset; a database alone keeps local mode');
  t.equal(isLocalMode({ NODE_ENV: 'production' }), false);
  for (const name of ['ACS_CONNECTION_STRING', 'AZURE_TENANT_ID', 'AUTH_ALLOWED_TENANTS', 'AZURE_CLIENT_ID']) {
    t.equal(isLocalMode({ [name]: 'x' }), false, `${name} set: configured mode`);
  }
});

t.test('the local service end to end', async (t) => {
  const dataDir = t.testdir({});
  const local = await startLocalEnvironment({ PGLITE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const app = await buildApp(local.config, { localTokenIssuer: local.entra });
  await app.ready();
  t.teardown(async () => { await app.close(); await local.close(); });
  t.equal(local.config.host, '127.0.0.1', 'loopback by default');
  t.equal(local.config.databasePoolMax, 1, 'one connection to PGlite');

  const localToken = async (query: string) => {
    const response = await app.inject({ url: `/local/token?${query}` });
    return { status: response.statusCode, body: JSON.parse(response.body) };
  };
  const call = async (url: string, token: string, headers: Record<string, string> = {}) => {
    const response = await app.inject({ url, headers: { authorization: `Bearer ${token}`, ...headers } });
    return { status: response.statusCode, body: assertMatchesContract('GET', url.split('?')[0]!, response) as any };
  };

  const alice = await localToken('user=alice');
  t.equal(alice.status, 200);
  t.equal(alice.body.tenantId, LOCAL_TENANTS.contoso);
  t.equal((await localToken('user=alice')).body.objectId, alice.body.objectId, 'a name is a stable user');
  t.not((await localToken('user=bob')).body.objectId, alice.body.objectId);

  const first = await call('/api/token', alice.body.token);
  t.equal(first.status, 200);
  const again = await call('/api/token', (await localToken('user=alice')).body.token);
  t.equal(again.body.user.communicationUserId, first.body.user.communicationUserId);

  const fabrikam = await localToken('user=alice&tenant=fabrikam');
  t.not(fabrikam.body.objectId, alice.body.objectId);
  const other = await call('/api/token', fabrikam.body.token);
  t.equal(other.status, 200, 'the second local tenant is allowed');
  t.not(other.body.user.communicationUserId, first.body.user.communicationUserId);

  const teamsHeader = await call('/api/token/teams', alice.body.token, { 'teams-user-aad-token': (await localToken('user=alice&teams=true')).body.token });
  t.equal(teamsHeader.status, 200, 'Teams, header mode');
  const teamsObo = await call('/api/token/teams', alice.body.token);
  t.equal(teamsObo.status, 200, 'Teams, on-behalf-of through the TLS emulator');

  // The emulator's generic OpenID Connect issuer: alice there is another user than Entra's alice.
  const oidcAlice = await localToken('user=alice&issuer=oidc');
  t.equal(oidcAlice.status, 200);
  t.equal(oidcAlice.body.tenantId, local.entra.oidc.issuer);
  const oidcToken = await call('/api/token', oidcAlice.body.token);
  t.equal(oidcToken.status, 200, 'a token for the OIDC issuer\'s user');
  t.not(oidcToken.body.user.communicationUserId, first.body.user.communicationUserId);
  t.equal((await call('/api/token/teams', oidcAlice.body.token, { 'teams-user-aad-token': 'x.y.z' })).body.code, 'teams_requires_entra');

  for (const query of ['', 'user=', 'user=a%20b', `user=${'x'.repeat(65)}`, 'user=alice&tenant=nowhere', 'user=alice&issuer=google', 'user=alice&issuer=oidc&teams=true']) {
    const refused = await localToken(query);
    t.equal(refused.status, 400, `?${query} → 400`);
    t.equal(refused.body.code, 'invalid_request');
  }
  // The detail says what a user name is, in words that fit `npm run -s token -- --user 'a b'`
  // as well as the query string.
  for (const query of ['', 'user=a%20b', `user=${'x'.repeat(65)}`]) {
    const { detail } = (await localToken(query)).body;
    t.match(detail, /1 to 64 of A-Z a-z 0-9 \. _ @ -/, `?${query}: the rule`);
    t.notMatch(detail, /\?user=/, `?${query}: no query-string wording`);
  }

  // A second service on the same data folder is refused while this one runs.
  await t.rejects(startLocalEnvironment({ PGLITE_DATA_DIR: dataDir }), /Another local-mode service \(process \d+\) uses/);
});

t.test('restarts: old tokens stay valid, and a lost state file is rebuilt from the database', async (t) => {
  const dataDir = t.testdir({});
  const start = async () => {
    const local = await startLocalEnvironment({ PGLITE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    const app = await buildApp(local.config, { localTokenIssuer: local.entra });
    await app.ready();
    await local.adoptStoredIdentities(app.pool);
    return { local, app, stop: async () => { await app.close(); await local.close(); } };
  };
  const tokenOf = async (app: Awaited<ReturnType<typeof start>>['app'], token: string) => {
    const response = await app.inject({ url: '/api/token', headers: { authorization: `Bearer ${token}` } });
    return { status: response.statusCode, body: JSON.parse(response.body) };
  };

  const first = await start();
  const userToken = JSON.parse((await first.app.inject({ url: '/local/token?user=carol' })).body).token as string;
  const before = await tokenOf(first.app, userToken);
  t.equal(before.status, 200);
  await first.stop();

  const second = await start();
  const after = await tokenOf(second.app, userToken);
  t.equal(after.status, 200, 'a token minted before the restart still works');
  t.equal(after.body.user.communicationUserId, before.body.user.communicationUserId, 'same identity');
  await second.stop();

  rmSync(`${dataDir}/emulators.json`);
  const third = await start();
  // Stopped here, not in a teardown: tap removes the test's directory first, and the embedded
  // database may still be writing into it (seen in CI: ENOTEMPTY on pg_wal, then a hang).
  try {
    t.ok(third.local.acs.hasIdentity(before.body.user.communicationUserId), 'the emulator adopted the identity the database maps');
    const fresh = JSON.parse((await third.app.inject({ url: '/local/token?user=carol' })).body).token as string;
    const again = await tokenOf(third.app, fresh);
    t.equal(again.status, 200);
    t.equal(again.body.user.communicationUserId, before.body.user.communicationUserId, 'carol keeps her identity');
  } finally {
    await third.stop();
  }
});

t.test('a lock left with our own pid by a killed container (pid 1 again) is stale', async (t) => {
  const dataDir = t.testdir({ lock: String(process.pid) });
  const local = await startLocalEnvironment({ PGLITE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  t.ok(local.config, 'started');
  await local.close();
});

t.test('local mode stays on this machine unless LOCAL_MODE=true', async (t) => {
  await t.rejects(startLocalEnvironment({ HOST: '0.0.0.0', PGLITE_DATA_DIR: 'memory://' }), /HOST=0\.0\.0\.0 is not a loopback address/);
  await t.rejects(startLocalEnvironment({ DATABASE_URL: 'postgres://db.example.com/acs', PGLITE_DATA_DIR: 'memory://' }), /DATABASE_URL points at db\.example\.com/);
  const allowed = await startLocalEnvironment({ HOST: '0.0.0.0', LOCAL_MODE: 'true', PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent' });
  t.equal(allowed.config.host, '0.0.0.0', 'allowed on purpose');
  await allowed.close();
});

// PGlite is one session behind its socket: a connection the pool closes or drops leaves its
// prepared statements behind for the next one ("already exists", then a refused reconnect: 503).
t.test('idle past the pool\'s idle timeout, and after a dropped connection, new and known users get tokens', async (t) => {
  const local = await startLocalEnvironment({ PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'warn' });
  const warnings: string[] = [];
  const app = await buildApp(local.config, { localTokenIssuer: local.entra, logStream: { write: (line) => { warnings.push(line); } } });
  await app.ready();
  t.teardown(async () => { await app.close(); await local.close(); });
  const tokenFor = async (user: string) => {
    const userToken = JSON.parse((await app.inject({ url: `/local/token?user=${user}` })).body).token as string;
    const response = await app.inject({ url: '/api/token', headers: { authorization: `Bearer ${userToken}` } });
    return { status: response.statusCode, body: JSON.parse(response.body) };
  };
  const alice = await tokenFor('alice');
  t.equal(alice.status, 200);

  // pg's pool closes a client idle for 10 s by default; nothing else here times out sooner.
  await new Promise((resolve) => setTimeout(resolve, 11_000));
  const bob = await tokenFor('bob');
  t.equal(bob.status, 200, `a new user after the pause: ${bob.status} ${bob.body.code ?? ''}`);
  const aliceAgain = await tokenFor('alice');
  t.equal(aliceAgain.status, 200, 'a known user after the pause');
  t.equal(aliceAgain.body.user.communicationUserId, alice.body.user.communicationUserId);

  // A connection the pool drops (as it does after a broken query), and at once the next request.
  const client = await app.pool.connect();
  client.release(new Error('dropped by the test'));
  const carol = await tokenFor('carol');
  t.equal(carol.status, 200, `a new user right after a dropped connection: ${carol.status} ${carol.body.code ?? ''}`);
  const bobAgain = await tokenFor('bob');
  t.equal(bobAgain.status, 200, 'a known user right after a dropped connection');
  t.equal(bobAgain.body.user.communicationUserId, bob.body.user.communicationUserId);
  t.same(warnings.filter((line) => /prepared statement|database/i.test(line)), [], 'no lost prepared statement, no database error: each new connection starts clean');
});

// DNS rebinding: a page of another site, its name pointed at 127.0.0.1, sends its own Host.
t.test('local mode answers only requests addressed to a loopback name', async (t) => {
  const local = await startLocalEnvironment({ PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent' });
  const app = await buildApp(local.config, { localTokenIssuer: local.entra });
  await app.ready();
  t.teardown(async () => { await app.close(); await local.close(); });
  const userToken = JSON.parse((await app.inject({ url: '/local/token?user=alice', headers: { host: 'localhost:3000' } })).body).token as string;
  t.ok(userToken, 'localhost:3000 mints a token');

  for (const host of ['localhost:3000', 'LOCALHOST', '127.0.0.1:3000', '127.1.2.3', '[::1]:3000', 'demo.localhost:3000', 'localhost.:3000']) {
    const response = await app.inject({ url: '/api/token', headers: { host, authorization: `Bearer ${userToken}` } });
    t.equal(response.statusCode, 200, `Host: ${host} is served`);
  }
  const refusedHosts = ['evil.example', 'evil.example:3000', 'localhost.evil.example', '127.0.0.1.nip.io:3000', '10.0.0.5:3000', '[::ffff:7f00:1]:3000', '[fe80::1]', 'localhost:3000:1'];
  for (const host of refusedHosts) {
    for (const url of ['/local/token?user=mallory', '/api/token', '/demo/', '/healthz']) {
      const response = await app.inject({ url, headers: { host, authorization: `Bearer ${userToken}` } });
      t.equal(response.statusCode, 421, `Host: "${host}" ${url} → 421`);
      t.match(response.headers['content-type'], /^application\/problem\+json/);
      t.equal(JSON.parse(response.body).code, 'host_not_allowed');
    }
  }
  // The detail names the Host names that are served, as the contract's row for the code does.
  const row = readFileSync(projectFile('openapi.yaml'), 'utf8').split('\n').find((line) => line.includes('`host_not_allowed`'))!;
  const served = [...row.matchAll(/`([^`]+)`/g)].map(([, name]) => name!).filter((name) => name !== 'host_not_allowed' && name !== 'Host');
  t.same(served, ['localhost', '*.localhost', '127.x.x.x', '[::1]'], 'the contract\'s names');
  const { detail } = JSON.parse((await app.inject({ url: '/healthz', headers: { host: 'evil.example' } })).body);
  for (const name of served) t.ok(detail.includes(name), `the 421 detail names ${name}: ${detail}`);
  // Nothing was done for the refused requests: mallory got no token, alice no second identity.
  const audit = await app.pool.query("SELECT count(*)::int AS n FROM acs_identities");
  t.equal(audit.rows[0].n, 1, 'one identity: alice\'s, made by the served requests');
});

// A developer's .env may be a deployment's: its service role and Entra sign-in to Azure's
// database. Local mode migrates and serves with PGlite's one role and trusts only its
// emulators, so those settings must not stop it.
t.test('local mode ignores a deployment\'s database role and Entra sign-in', async (t) => {
  const local = await startLocalEnvironment({
    PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent',
    DATABASE_SERVICE_ROLE: 'acs_token_service',
    DATABASE_AUTH: 'entra',
    DATABASE_CREDENTIAL_CLIENT_ID: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d',
    DATABASE_SERVICE_ROLE_OBJECT_ID: '1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b',
  });
  t.equal(local.config.databaseServiceRole, undefined);
  t.same(local.config.databaseAuth, { kind: 'password' }, 'PGlite takes no token');
  t.equal(local.config.databaseServiceRoleObjectId, undefined);
  const app = await buildApp(local.config, { localTokenIssuer: local.entra });
  t.teardown(async () => { await app.close(); await local.close(); });
  await app.ready();
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'migrated and ready');
});

// With a PostgreSQL of the developer's, Entra sign-in would take its token from Azure, which
// local mode does not use: refused before anything connects (nothing listens on port 1).
t.test('local mode with DATABASE_URL refuses DATABASE_AUTH=entra', async (t) => {
  await t.rejects(startLocalEnvironment({ DATABASE_URL: 'postgres://acs@127.0.0.1:1/acs', DATABASE_AUTH: 'entra', PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }),
    { name: 'ConfigError', problems: ['DATABASE_AUTH=entra is for Azure\'s database: local mode signs in to DATABASE_URL with its own password. Unset DATABASE_AUTH (or DATABASE_URL, for the embedded database)'] });
});
