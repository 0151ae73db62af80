// Probes and documentation: /healthz depends on nothing, /readyz on the database, its schema
// and the signing keys; outages become fast 503s, not hangs or 500s.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { projectFile } from '../src/projectFiles.js';
import { startTestService } from './helpers/testService.js';

t.test('a healthy service', async (t) => {
  const svc = await startTestService(t);
  const health = await svc.request({ url: '/healthz' });
  t.equal(health.statusCode, 200);
  t.same(health.json, { status: 'ok' });
  const ready = await svc.request({ url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json, { status: 'ready', checks: { database: 'ok', migrations: 'ok', signingKeys: 'ok' } });

  const contract = await svc.request({ url: '/openapi.json' });
  t.equal(contract.statusCode, 200);
  // Its servers name this service (test/documentation.test.ts), not the contract's development one.
  t.same(contract.json, { ...parse(readFileSync(projectFile('openapi.yaml'), 'utf8')), servers: contract.json.servers }, '/openapi.json is openapi.yaml');
  const docs = await svc.app.inject({ url: '/docs/' });
  t.equal(docs.statusCode, 200);
  t.match(docs.headers['content-type'], /text\/html/);
  t.match(docs.body, /swagger/i);
  const noLocalTokens = await svc.request({ url: '/local/token?user=alice' });
  t.equal(noLocalTokens.statusCode, 404, 'a configured service has no local token route');
  const unknown = await svc.request({ url: '/api/nothing-here' });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json.code, 'not_found');
  t.match(unknown.headers['content-type'], /application\/problem\+json/);
});

t.test('not migrated: /readyz is 503; MIGRATE_ON_START=true makes it ready', async (t) => {
  const empty = await startTestService(t, {}, { migrated: false });
  const notReady = await empty.request({ url: '/readyz' });
  t.equal(notReady.statusCode, 503);
  t.equal(notReady.json.code, 'not_ready');
  t.same(notReady.json.checks, { database: 'ok', migrations: 'failing', signingKeys: 'ok' });
  t.ok(notReady.headers['retry-after']);
  t.equal((await empty.request({ url: '/healthz' })).statusCode, 200, 'liveness does not care');

  const migrating = await startTestService(t, { MIGRATE_ON_START: 'true' }, { migrated: false });
  t.equal((await migrating.request({ url: '/readyz' })).statusCode, 200);
});

t.test('database unreachable: /readyz 503, API 503 database_unavailable, fast', async (t) => {
  const svc = await startTestService(t, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', DATABASE_TIMEOUT_MS: '1000' });
  const ready = await svc.request({ url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.equal(ready.json.checks.database, 'failing');
  t.equal((await svc.request({ url: '/healthz' })).statusCode, 200);
  const started = Date.now();
  const api = await svc.request({ url: '/api/token', token: svc.userToken() });
  t.equal(api.statusCode, 503);
  t.equal(api.json.code, 'database_unavailable');
  t.ok(api.headers['retry-after']);
  t.ok(Date.now() - started < 3000, 'fails fast');
  t.equal(svc.acs.counters.requests, 0, 'no ACS call without the database');
});

t.test('signing keys unreachable: /readyz 503 naming them', async (t) => {
  const svc = await startTestService(t, { AZURE_AUTHORITY_HOST: 'http://127.0.0.1:1' });
  const ready = await svc.request({ url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.same(ready.json.checks, { database: 'ok', migrations: 'ok', signingKeys: 'failing' });
});

t.test('polling /readyz while the keys cannot be read costs no more reads than the cooldown allows', async (t) => {
  // An identity provider that answers every request with 503, and counts them.
  let asked = 0;
  const failing = createServer((_request, response) => { asked++; response.writeHead(503).end(); });
  await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => failing.close(resolve)));
  const svc = await startTestService(t, { AZURE_AUTHORITY_HOST: `http://127.0.0.1:${(failing.address() as AddressInfo).port}` });
  const statuses = new Set<number>();
  for (let i = 0; i < 30; i++) statuses.add((await svc.request({ url: '/readyz' })).statusCode);
  t.same([...statuses], [503], 'not ready');
  t.ok(asked <= 2, `30 probes within one cooldown: ${asked} read(s) of the identity provider`);
});
