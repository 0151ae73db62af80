// What operators and reviewers expect before a token service faces the internet: rate limits
// (per IP before authentication, per user after), CORS, security headers, size limits, the
// audit trail (no clear user id), and Prometheus metrics that move as the service acts.
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { MAX_PENDING } from '../src/audit/auditTrail.js';
import { entraCaller } from '../src/auth/caller.js';
import { startTestService } from './helpers/testService.js';

t.test('per-user limit after authentication, per-IP limit before it', async (t) => {
  const svc = await startTestService(t, { RATE_LIMIT_USER_MAX: '3', RATE_LIMIT_IP_MAX: '8', RATE_LIMIT_WINDOW_SECONDS: '60' });
  const alice = svc.userToken();
  for (let i = 0; i < 3; i++) t.equal((await svc.request({ url: '/api/user', token: alice })).statusCode, 404);
  const limited = await svc.request({ url: '/api/user', token: alice });
  t.equal(limited.statusCode, 429, 'alice\'s fourth request');
  t.equal(limited.json.code, 'rate_limited');
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
  t.ok(limited.headers['ratelimit-limit'] !== undefined && limited.headers['ratelimit-reset'] !== undefined, 'RateLimit-* headers');
  t.equal((await svc.request({ url: '/api/user', token: svc.userToken() })).statusCode, 404, 'bob has his own budget');

  // Bad tokens count against the IP before any token is looked at. 2 of 8 are used: alice's
  // and bob's first requests (a token verified before does not count against its address).
  const acsRequests = svc.acs.counters.requests;
  const answers: number[] = [];
  const remaining: unknown[] = [];
  for (let i = 0; i < 8; i++) {
    const answer = await svc.request({ url: '/api/token', token: 'a.b.c' });
    answers.push(answer.statusCode);
    remaining.push(answer.headers['ratelimit-remaining']);
    if (answer.statusCode === 429) {
      t.equal(answer.headers['ratelimit-limit'], '8', 'the IP limit names its budget');
      t.ok(Number(answer.headers['ratelimit-reset']) > 0 && Number(answer.headers['ratelimit-reset']) <= 60, 'and when its window ends');
    }
  }
  t.same(answers, [401, 401, 401, 401, 401, 401, 429, 429], 'the IP budget runs out, and then not even the token is read');
  t.same(remaining, ['5', '4', '3', '2', '1', '0', '0', '0'], 'each answer says what is left of the IP budget');
  t.equal(svc.acs.counters.requests, acsRequests);
  t.equal((await svc.request({ url: '/healthz' })).statusCode, 200, 'probes are not limited');

  const metrics = (await svc.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /rate_limited_total\{limit="user"\} 1/);
  t.match(metrics, /rate_limited_total\{limit="ip"\} 2/);
});

t.test('CORS: listed origins only; preflight answered; the Teams header allowed', async (t) => {
  const svc = await startTestService(t, { CORS_ORIGINS: 'https://app.example.com' });
  const preflight = await svc.app.inject({
    method: 'OPTIONS', url: '/api/token/teams',
    headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,teams-user-aad-token' },
  });
  t.equal(preflight.statusCode, 204);
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.com');
  t.match(String(preflight.headers['access-control-allow-headers']), /teams-user-aad-token/);
  t.notOk(preflight.headers['access-control-allow-credentials'], 'no credentials: bearer tokens, not cookies');
  const other = await svc.app.inject({ method: 'OPTIONS', url: '/api/token', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' } });
  t.notOk(other.headers['access-control-allow-origin'], 'an unlisted origin gets no CORS grant');
  const get = await svc.request({ url: '/api/user', token: svc.userToken(), headers: { origin: 'https://app.example.com' } });
  t.equal(get.headers['access-control-allow-origin'], 'https://app.example.com');
  t.match(String(get.headers['access-control-expose-headers']), /x-request-id/);
});

t.test('security headers and size limits', async (t) => {
  const svc = await startTestService(t);
  const response = await svc.request({ url: '/api/token', token: svc.userToken() });
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-security-policy'], /default-src 'none'/);
  t.equal(response.headers['x-content-type-options'], 'nosniff');
  t.match(response.headers['strict-transport-security'], /max-age=/);
  t.equal(response.headers['x-frame-options'], 'SAMEORIGIN');
  t.notOk(response.headers['x-powered-by']);
  t.notOk(response.headers['access-control-allow-origin'], 'no CORS unless configured');
  // A problem is data no browser renders or frames: nosniff and no-store, a policy allowing
  // nothing, not the other document headers.
  const problem = await svc.request({ url: '/api/user', token: svc.userToken() });
  t.equal(problem.statusCode, 404);
  t.equal(problem.headers['x-content-type-options'], 'nosniff');
  t.equal(problem.headers['cache-control'], 'no-store');
  t.match(problem.headers['content-security-policy'], /default-src 'none'/);
  t.notOk(problem.headers['x-frame-options']);
  const preflight = await svc.app.inject({ method: 'OPTIONS', url: '/api/token', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } });
  t.equal(preflight.statusCode, 404, 'no preflight answered unless configured');
  t.notOk(preflight.headers['access-control-allow-origin']);

  const longUrl = await svc.app.inject({ url: `/api/user?x=${'a'.repeat(3000)}`, headers: { authorization: `Bearer ${svc.userToken()}` } });
  t.equal(longUrl.statusCode, 414);
  t.equal(JSON.parse(longUrl.body).code, 'uri_too_long');

  // An oversized header is refused by Node itself, before the service: a real socket shows it.
  await svc.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = svc.app.server.address() as AddressInfo;
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/healthz', headers: { 'x-big': 'a'.repeat(20_000) } }, (res) => { res.resume(); resolve(res.statusCode!); });
    req.on('error', reject);
    req.end();
  });
  t.equal(status, 431, 'headers over 16 KiB: 431');
});

t.test('a bad token sent again and again on two routes: the same answer each time, one tallied row per route', async (t) => {
  const svc = await startTestService(t, { AUDIT_FLUSH_INTERVAL_MS: '50' });
  const forged = `${svc.userToken()}x`;
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await svc.request({ url: '/api/token', token: forged }));
  for (let i = 0; i < 2; i++) answers.push(await svc.request({ method: 'POST', url: '/api/user', token: forged }));
  t.same(answers.map((answer) => answer.statusCode), [401, 401, 401, 401, 401]);
  t.equal(new Set(answers.map((answer) => answer.body)).size, 1, 'one body, answered again');
  t.match(answers[0]!.json, { type: 'urn:acs-token-service:problem:invalid_token', title: 'Unauthorized', status: 401, code: 'invalid_token', detail: /^The token is invalid/ });
  // A problem made per request (a 404 here) is answered as it is, not from what was kept.
  const missing = await svc.request({ url: '/api/nowhere', token: forged });
  t.match(missing.json, { status: 404, code: 'not_found' });
  await svc.app.audit.flush();
  const { rows } = await svc.db.query<{ details: { route: string; count: number } }>("SELECT details FROM audit_events WHERE event = 'request_refused' AND user_hash IS NULL ORDER BY details->>'route'");
  t.same(rows.map(({ details }) => [details.route, details.count]), [['/api/token', 3], ['/api/user', 2]]);
});

t.test('the audit trail records each event, the user only as a keyed hash', async (t) => {
  const svc = await startTestService(t, { AUDIT_HASH_KEY: 'a-test-audit-key-of-some-length', AUDIT_FLUSH_INTERVAL_MS: '50' });
  const objectId = randomUUID();
  const token = svc.userToken({ objectId });
  await svc.request({ url: '/api/token?scopes=chat&expiresInMinutes=60', token });
  await svc.request({ method: 'POST', url: '/api/token/revoke', token });
  await svc.request({ url: '/api/token/teams', token, headers: { 'teams-user-aad-token': svc.entra.mintTeamsToken({ objectId }) } });
  await svc.request({ method: 'DELETE', url: '/api/user', token });
  for (let i = 0; i < 3; i++) await svc.request({ url: '/api/token', token: `${token}x` });
  await svc.request({ url: '/api/token?scopes=voip.join', token });
  await svc.app.audit.flush();

  const { rows } = await svc.db.query<{ event: string; user_hash: string | null; details: Record<string, unknown> }>('SELECT event, user_hash, details FROM audit_events ORDER BY id');
  const events = rows.map((row) => row.event);
  for (const event of ['identity_created', 'token_issued', 'tokens_revoked', 'teams_exchange', 'deletion_requested', 'deletion_completed', 'request_refused']) {
    t.ok(events.includes(event), `${event} recorded`);
  }
  t.match(rows.find((row) => row.event === 'token_issued')!.details, { scopes: ['chat'], expiresInMinutes: 60 });
  t.same(rows.filter((row) => row.event === 'request_refused').map((row) => row.details.reason).sort(), ['invalid_token', 'scope_not_allowed']);
  // The three bad tokens came from no known caller: one tallied row, not three.
  t.match(rows.find((row) => row.details.reason === 'invalid_token'), { user_hash: null, details: { count: 3, status: 401, route: '/api/token' } });
  const hash = svc.app.hashUser(entraCaller(svc.entra.tenantId, objectId));
  t.ok(rows.filter((row) => row.user_hash !== null).every((row) => row.user_hash === hash), 'the user is the keyed hash');
  const dump = JSON.stringify(rows);
  t.notOk(dump.includes(objectId), 'no clear oid');
  t.notOk(dump.includes(token.split('.')[2]!), 'no token');
  t.notOk(dump.includes('8:acs:'), 'no ACS id');

  // Floods are counted by the metrics, not written one row each.
  for (let i = 0; i < 5; i++) await svc.app.inject({ url: `/healthz?${'x'.repeat(3000)}` });
  await svc.app.audit.flush();
  const floods = await svc.db.query("SELECT count(*)::int AS n FROM audit_events WHERE details->>'reason' = 'uri_too_long'");
  t.equal(floods.rows[0].n, 0, 'no audit row per refused flood request');

  // A tally pending beside a full batch is written with the next batch (this once recursed
  // until the stack overflowed, under a bench soak).
  await svc.db.query('DELETE FROM audit_events');
  for (let i = 0; i < 499; i++) svc.app.audit.record('token_issued', hash);
  svc.app.audit.tally('request_refused', { reason: 'invalid_token', status: 401, route: '/api/token' });
  svc.app.audit.tally('request_refused', { reason: 'invalid_token', status: 401, route: '/api/token' });
  await svc.app.audit.flush();
  const written = await svc.db.query<{ event: string; n: number; count: string | null }>("SELECT event, count(*)::int AS n, max(details->>'count') AS count FROM audit_events GROUP BY event ORDER BY event");
  t.same(written.rows, [{ event: 'request_refused', n: 1, count: '2' }, { event: 'token_issued', n: 499, count: null }]);

  await svc.db.query("INSERT INTO audit_events (at, event) VALUES (now() - interval '400 days', 'identity_created')");
  t.equal(await svc.app.audit.deleteOlderThan(90), 1, 'retention cleanup deletes old events');
});

t.test('audit events beyond the bound are dropped, counted in a metric and logged at the next flush', async (t) => {
  const lines: string[] = [];
  const svc = await startTestService(t, { AUDIT_FLUSH_INTERVAL_MS: '60000' }, { logStream: { write: (line) => { lines.push(line); } } });
  const dropsMetric = async () => Number(/^audit_events_dropped_total (\S+)$/m.exec((await svc.app.inject({ url: '/metrics' })).body)?.[1]);
  t.equal(await dropsMetric(), 0, 'none dropped yet');
  // As many distinct users with a reused token in one flush as the bound allows, and five more.
  for (let i = 0; i < MAX_PENDING + 5; i++) svc.app.audit.tally('token_issued', { scopes: ['chat'], expiresInMinutes: 60, reused: true }, `user-hash-${i}`);
  await svc.app.audit.flush();
  const written = await svc.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_events WHERE event = 'token_issued'");
  t.equal(written.rows[0]!.n, MAX_PENDING, 'as many as the bound written');
  t.equal(await dropsMetric(), 5, 'the rest counted');
  const reported = () => lines.map((line) => JSON.parse(line)).filter((entry) => entry.dropped !== undefined);
  t.match(reported(), [{ level: 50, dropped: 5, msg: /audit events dropped/ }], 'and logged once, as an error');

  await svc.app.audit.flush();
  t.equal(await dropsMetric(), 5, 'a flush with nothing dropped since counts nothing more');
  t.equal(reported().length, 1, 'and logs nothing more');

  // A tally that finds the queue full when it is written is dropped with all it counted.
  for (let i = 0; i < MAX_PENDING; i++) svc.app.audit.record('token_issued', 'user-hash-x');
  for (let i = 0; i < 3; i++) svc.app.audit.tally('request_refused', { reason: 'invalid_token', status: 401, route: '/api/token' });
  await svc.app.audit.flush();
  t.equal(await dropsMetric(), 8, 'a dropped tally counts its three events');
  t.match(reported().at(-1), { dropped: 3 });
});

t.test('a recent token served again is counted per user and flush, not written a row each', async (t) => {
  const svc = await startTestService(t, { AUDIT_FLUSH_INTERVAL_MS: '60000', ACS_TOKEN_REUSE_SECONDS: '300' });
  const alice = { objectId: randomUUID() };
  const bob = { objectId: randomUUID() };
  for (let i = 0; i < 4; i++) t.equal((await svc.request({ url: '/api/token?scopes=chat', token: svc.userToken(alice) })).statusCode, 200);
  for (let i = 0; i < 2; i++) t.equal((await svc.request({ url: '/api/token?scopes=chat', token: svc.userToken(bob) })).statusCode, 200);
  t.equal((await svc.request({ url: '/api/token?scopes=voip', token: svc.userToken(alice) })).statusCode, 200);
  await svc.app.audit.flush();

  const { rows } = await svc.db.query<{ user_hash: string; details: Record<string, unknown> }>(
    "SELECT user_hash, details FROM audit_events WHERE event = 'token_issued' ORDER BY id");
  const hashOf = (user: { objectId: string }) => svc.app.hashUser(entraCaller(svc.entra.tenantId, user.objectId));
  const of = (user: { objectId: string }) => rows.filter((row) => row.user_hash === hashOf(user)).map((row) => row.details);
  t.match(of(alice), [
    { scopes: ['chat'], reused: false },
    { scopes: ['voip'], reused: false },
    { scopes: ['chat'], reused: true, count: 3, since: String },
  ], 'alice: each token issued once, then three serves of her chat token in one row');
  t.match(of(bob), [{ scopes: ['chat'], reused: false }, { scopes: ['chat'], reused: true, count: 1 }], 'bob: his own rows');
  t.equal(rows.length, 5, 'five rows for seven tokens served');
});

t.test('events of requests in flight at shutdown are written too', async (t) => {
  const svc = await startTestService(t, { AUDIT_FLUSH_INTERVAL_MS: '60000' });
  await svc.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = svc.app.server.address() as AddressInfo;
  svc.acs.setLatency(300);
  // Over a real connection: closing waits for it (an injected request it would not wait for).
  const inFlight = fetch(`http://127.0.0.1:${port}/api/token`, { headers: { authorization: `Bearer ${svc.userToken()}` } });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const closing = svc.app.shutdown(0);
  t.equal((await inFlight).status, 200);
  await closing;
  const { rows } = await svc.db.query<{ event: string }>('SELECT event FROM audit_events ORDER BY id');
  t.same(rows.map((row) => row.event), ['identity_created', 'token_issued'], 'flushed when the app closed');
});

t.test('/metrics: Prometheus text whose counters move; optionally protected', async (t) => {
  // No audit flush or deletion retry between two scrapes: the statements counted are the requests' own.
  const svc = await startTestService(t, { METRICS_TOKEN: 'a-metrics-token-of-length', AUDIT_FLUSH_INTERVAL_MS: '60000', ACS_DELETION_RETRY_INTERVAL_SECONDS: '3600' });
  t.equal((await svc.app.inject({ url: '/metrics' })).statusCode, 401, 'protected by METRICS_TOKEN');
  const scrape = async () => (await svc.app.inject({ url: '/metrics', headers: { authorization: 'Bearer a-metrics-token-of-length' } })).body;
  const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

  const before = await scrape();
  const token = svc.userToken();
  await svc.request({ url: '/api/token', token });
  await svc.request({ url: '/api/token', token: 'x.y.z' });
  const after = await scrape();
  t.match(after, /^# TYPE http_requests_total counter$/m, 'Prometheus text format');
  t.equal(value(after, 'http_requests_total{method="GET",route="/api/token",status="200"}') - value(before, 'http_requests_total{method="GET",route="/api/token",status="200"}'), 1);
  t.equal(value(after, 'acs_identities_created_total') - value(before, 'acs_identities_created_total'), 1);
  t.equal(value(after, 'acs_tokens_issued_total{kind="user"}') - value(before, 'acs_tokens_issued_total{kind="user"}'), 1);
  t.equal(value(after, 'auth_failures_total{reason="invalid_token"}') - value(before, 'auth_failures_total{reason="invalid_token"}'), 1);
  t.ok(value(after, 'acs_calls_total{operation="createIdentity",outcome="ok"}') >= 1);
  t.match(after, /acs_call_duration_seconds_bucket\{le="0.1",operation="createIdentity"\}/);
  t.match(after, /db_pool_connections\{state="total"\} \d/);
  // The first token: find, then the creation's transaction (BEGIN, lock, re-read, insert, COMMIT).
  t.ok(value(after, 'database_queries_total') - value(before, 'database_queries_total') >= 2, 'statements to PostgreSQL counted');
  const warm = await scrape();
  await svc.request({ url: '/api/token', token });
  await svc.request({ url: '/api/token', token: 'x.y.z' });
  t.equal(value(await scrape(), 'database_queries_total') - value(warm, 'database_queries_total'), 1, 'a warm token request: one round trip; a bad token: none');
  t.match(after, /acs_circuit_open 0/);
  t.match(after, /http_request_duration_seconds_count/);
});

t.test('/metrics on a port of its own', async (t) => {
  const svc = await startTestService(t, { METRICS_PORT: '0', HOST: '127.0.0.1' });
  t.ok(svc.app.metricsAddress, `listening at ${svc.app.metricsAddress}`);
  const separate = await fetch(`${svc.app.metricsAddress}/metrics`);
  t.equal(separate.status, 200);
  t.match(await separate.text(), /http_requests_total|process_cpu/);
  t.equal((await svc.app.inject({ url: '/metrics' })).statusCode, 404, 'not on the API port');
});
