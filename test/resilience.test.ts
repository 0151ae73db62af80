// Outages, for real: ACS switched off (the circuit breaker opens, answers at once, and closes
// again when ACS is back) and the database cut off behind a TCP proxy (fast 503s, liveness
// unaffected, recovery without a restart).
import pg from 'pg';
import t from 'tap';
import { startTcpProxy } from './helpers/tcpProxy.js';
import { createTestDatabase } from './helpers/testDatabase.js';
import { startTestService } from './helpers/testService.js';

t.test('ACS off: the circuit opens and answers at once; ACS on: it closes again', async (t) => {
  const svc = await startTestService(t, { ACS_CIRCUIT_BREAKER_THRESHOLD: '3', ACS_CIRCUIT_BREAKER_COOLDOWN_SECONDS: '1', ACS_MAX_RETRIES: '0' });
  const token = svc.userToken();
  t.equal((await svc.request({ method: 'POST', url: '/api/user', token })).statusCode, 201);

  svc.acs.setOffline(true);
  for (let i = 0; i < 3; i++) {
    const response = await svc.request({ url: '/api/token', token });
    t.equal(response.statusCode, 503, `outage ${i + 1}: 503`);
    t.equal(response.json.code, 'acs_unavailable');
  }
  t.equal(svc.acs.counters.dropped, 3, 'three calls reached the switched-off ACS');
  t.equal(svc.app.acs.circuitState, 'open');

  for (let i = 0; i < 5; i++) {
    const response = await svc.request({ url: '/api/token', token });
    t.equal(response.statusCode, 503);
    t.ok(Number(response.headers['retry-after']) >= 1, 'Retry-After: when the circuit may close');
  }
  t.equal(svc.acs.counters.dropped, 3, 'while open, no call went to ACS');

  svc.acs.setOffline(false);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.equal(svc.app.acs.circuitState, 'half-open');
  const recovered = await svc.request({ url: '/api/token', token });
  t.equal(recovered.statusCode, 200, 'the trial call went through');
  t.equal(svc.app.acs.circuitState, 'closed');
});

t.test('any answer from ACS closes the circuit, a refusal too', async (t) => {
  const svc = await startTestService(t, { ACS_CIRCUIT_BREAKER_THRESHOLD: '1', ACS_CIRCUIT_BREAKER_COOLDOWN_SECONDS: '1', ACS_MAX_RETRIES: '0' });
  const token = svc.userToken();
  const created = await svc.request({ method: 'POST', url: '/api/user', token });
  svc.acs.setOffline(true);
  t.equal((await svc.request({ url: '/api/token', token })).statusCode, 503);
  t.equal(svc.app.acs.circuitState, 'open');
  svc.acs.setOffline(false);
  svc.acs.injectFault({ status: 404, code: 'IdentityNotFound', operations: ['issueToken'] });
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const trial = await svc.request({ url: '/api/token', token });
  t.equal(trial.statusCode, 502, 'the trial got a refusal…');
  t.equal(svc.app.acs.circuitState, 'closed', '…which shows ACS is up');
  t.ok(created.json.acsUserIdentity);
});

t.test('a failed trial opens the circuit again', async (t) => {
  const svc = await startTestService(t, { ACS_CIRCUIT_BREAKER_THRESHOLD: '1', ACS_CIRCUIT_BREAKER_COOLDOWN_SECONDS: '1', ACS_MAX_RETRIES: '0' });
  const token = svc.userToken();
  await svc.request({ method: 'POST', url: '/api/user', token });
  svc.acs.setOffline(true);
  t.equal((await svc.request({ url: '/api/token', token })).statusCode, 503);
  t.equal(svc.app.acs.circuitState, 'open');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.equal((await svc.request({ url: '/api/token', token })).statusCode, 503, 'the trial failed');
  t.equal(svc.acs.counters.dropped, 2);
  t.equal(svc.app.acs.circuitState, 'open', 'open again');
});

t.test('the database cut off: readiness 503, API 503 at once, liveness 200, recovery by itself', async (t) => {
  const database = await createTestDatabase();
  const proxy = await startTcpProxy(database.url);
  t.teardown(async () => { await proxy.close(); await database.drop(); });
  const svc = await startTestService(t, { DATABASE_URL: proxy.url, DATABASE_TIMEOUT_MS: '1000' });
  const token = svc.userToken();
  t.equal((await svc.request({ url: '/api/token', token })).statusCode, 200);

  await proxy.cut();
  const ready = await svc.request({ url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.equal(ready.json.checks.database, 'failing');
  t.equal((await svc.request({ url: '/healthz' })).statusCode, 200, 'liveness does not depend on the database');
  for (const route of [{ url: '/api/token' }, { url: '/api/user' }, { method: 'DELETE' as const, url: '/api/user' }]) {
    const started = Date.now();
    const response = await svc.request({ ...route, token });
    t.equal(response.statusCode, 503, `${route.method ?? 'GET'} ${route.url}: 503`);
    t.equal(response.json.code, 'database_unavailable');
    t.ok(response.headers['retry-after']);
    t.ok(Date.now() - started < 2000, `failed fast (${Date.now() - started} ms)`);
  }

  await proxy.restore();
  let readyAgain = false;
  for (let i = 0; i < 50 && !readyAgain; i++) {
    readyAgain = (await svc.request({ url: '/readyz' })).statusCode === 200;
    if (!readyAgain) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(readyAgain, 'ready again without a restart');
  const after = await svc.request({ url: '/api/token', token });
  t.equal(after.statusCode, 200);
  const direct = new pg.Pool({ connectionString: database.url, max: 1 });
  direct.on('error', () => undefined);
  t.teardown(() => direct.end());
  const { rows } = await direct.query('SELECT acs_user_id FROM acs_identities');
  t.same(rows.map((row) => row.acs_user_id), [after.json.user.communicationUserId], 'still one identity, the one answered');
});
