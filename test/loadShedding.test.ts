// Load shedding: while the event loop is behind, /api requests are answered 503 `overloaded`
// with Retry-After at once (before authentication), the probes and /metrics never; when the
// loop catches up, requests pass again. The lag is real: this process's event loop is kept busy.
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import Fastify from 'fastify';
import { ConfigError, loadConfig } from '../src/config/index.js';
import httpSecurity from '../src/plugins/httpSecurity.js';
import loadShedding from '../src/plugins/loadShedding.js';
import metrics from '../src/plugins/metrics.js';
import problemDetails from '../src/plugins/problemDetails.js';
import { UNIDENTIFIED_REFUSAL_LINES_PER_SECOND } from '../src/plugins/requestLog.js';
import { startOtherReplica, startTestService, type CheckedResponse, type TestService } from './helpers/testService.js';

t.setTimeout(240_000);

// A low bound, measured often: the lag below is far past it, an idle test process far below.
const SHEDDING = { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '50', OVERLOAD_SAMPLE_INTERVAL_MS: '100' };
const CHUNK_MS = 150;
// A configuration of its own, for what needs no database.
const minimal = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x',
  ACS_CONNECTION_STRING: 'endpoint=https://res.communication.azure.com/;accesskey=a2V5',
  AZURE_TENANT_ID: '00000000-0000-4000-8000-000000000001',
  AZURE_CLIENT_ID: 'api-client-id',
};

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* the event loop waits */ }
}

/**
 * Keeps this process's event loop behind, as a replica's is behind its backlog: busy for
 * CHUNK_MS at a time, other work (requests, timers) only between the chunks. Stopped at `t`'s
 * teardown at the latest.
 */
function lagEventLoop(t: Test): { stop(): Promise<void> } {
  let lagging = true;
  const done = (async () => {
    while (lagging) {
      busy(CHUNK_MS);
      await nextTurn();
    }
  })();
  const stop = async () => { lagging = false; await done; };
  t.teardown(stop);
  return { stop };
}

/** Asks until the answer is 503, at most for 10 s; the last answer. */
async function untilShed(ask: () => Promise<CheckedResponse>): Promise<CheckedResponse> {
  const deadline = Date.now() + 10_000;
  let answer = await ask();
  while (answer.statusCode !== 503 && Date.now() < deadline) answer = await ask();
  return answer;
}

/**
 * Asks until the answer is not 503, at most for 5 s; the last answer. The loop is measured
 * every 100 ms, so a lag just past (this process starting a service is one) ends within a few
 * samples.
 */
async function untilServed(ask: () => Promise<CheckedResponse>): Promise<CheckedResponse> {
  const deadline = Date.now() + 5000;
  let answer = await ask();
  while (answer.statusCode === 503 && Date.now() < deadline) {
    await sleep(50);
    answer = await ask();
  }
  return answer;
}

function assertShed(t: Test, answer: CheckedResponse, what: string): void {
  t.equal(answer.statusCode, 503, `${what}: 503`);
  t.equal(answer.headers['retry-after'], '5', `${what}: Retry-After`);
  t.match(answer.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`);
  t.match(answer.json, {
    type: 'urn:acs-token-service:problem:overloaded', title: 'Service Unavailable', status: 503, code: 'overloaded',
    detail: /not processed/,
  }, `${what}: the problem`);
}

async function shedCount(svc: TestService, reason: string): Promise<number> {
  const counted = await svc.app.metrics.requestsShed.get();
  return counted.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

t.test('settings: defaults, and each problem named', async (t) => {
  t.same(loadConfig(minimal).overload, { maxEventLoopDelayMs: 200, maxEventLoopUtilization: 0, sampleIntervalMs: 1000 });
  t.same(loadConfig({ ...minimal, OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: '0.9', OVERLOAD_SAMPLE_INTERVAL_MS: '250' }).overload,
    { maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0.9, sampleIntervalMs: 250 });
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig({ ...minimal, ...env });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems.join('\n');
      throw error;
    }
    return '';
  };
  t.match(problemsOf({ OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: 'soon' }), /OVERLOAD_MAX_EVENT_LOOP_DELAY_MS must be integer/);
  t.match(problemsOf({ OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '-1' }), /OVERLOAD_MAX_EVENT_LOOP_DELAY_MS must be >= 0/);
  t.match(problemsOf({ OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '5' }), /OVERLOAD_MAX_EVENT_LOOP_DELAY_MS \(5\) must be 0 \(off\) or at least 10/);
  t.match(problemsOf({ OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: '1' }), /OVERLOAD_MAX_EVENT_LOOP_UTILIZATION must be < 1/);
  t.match(problemsOf({ OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: 'high' }), /OVERLOAD_MAX_EVENT_LOOP_UTILIZATION must be number/);
  t.match(problemsOf({ OVERLOAD_SAMPLE_INTERVAL_MS: '1' }), /OVERLOAD_SAMPLE_INTERVAL_MS must be >= 10/);
});

t.test('a lag while the app is built does not shed its first requests', async (t) => {
  // Measured every second: the first sample after the build sees it, and is kept for a second.
  const config = loadConfig({ ...minimal, ...SHEDDING, OVERLOAD_SAMPLE_INTERVAL_MS: '1000' });
  const app = Fastify({ logger: false });
  t.teardown(() => app.close());
  await app.register(metrics, { config: config.metrics, httpLimits: config.http });
  await app.register(problemDetails, { auth: config.auth });
  await app.register(httpSecurity, { corsOrigins: [] });
  await app.register(loadShedding, { config: config.overload });
  // A plugin that takes long to load, as building the service's routes does on a slow machine.
  await app.register(async () => { busy(1200); });
  app.get('/api/anything', async () => ({ ok: true }));
  await app.ready();
  await sleep(100);
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push((await app.inject({ url: '/api/anything' })).statusCode);
  t.same(answers, [200, 200, 200, 200, 200]);
});

t.test('registered without the metrics plugin, it does not start', async (t) => {
  const app = Fastify({ logger: false });
  app.register(loadShedding, { config: { maxEventLoopDelayMs: 200, maxEventLoopUtilization: 0, sampleIntervalMs: 1000 } });
  await t.rejects(async () => { await app.ready(); }, /'metrics' required by 'load-shedding'/);
  await app.close().catch(() => undefined);
});

t.test('while the event loop is behind, /api requests are shed at once, the probes and /metrics never; then requests pass again', async (t) => {
  const logLines: string[] = [];
  const origin = 'https://app.example.com';
  const svc = await startTestService(t, { ...SHEDDING, CORS_ORIGINS: origin }, { logStream: { write: (line) => { logLines.push(line); } } });
  // Off on another replica in this process: the same lag, no shedding.
  const notShedding = await startOtherReplica(t, svc, { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' });
  const token = svc.userToken();
  t.equal((await untilServed(() => svc.request({ url: '/api/token', token }))).statusCode, 200, 'not behind: served');

  const lag = lagEventLoop(t);
  assertShed(t, await untilShed(() => svc.request({ url: '/api/token', token })), 'GET /api/token');
  const identitiesBefore = await svc.snapshot();
  assertShed(t, await svc.request({ method: 'POST', url: '/api/user', token: svc.userToken({ objectId: 'someone-new' }) }), 'POST /api/user');
  assertShed(t, await svc.request({ url: '/api/token', token: 'not-a-token' }), 'a bad token (shed before authentication)');
  const fromBrowser = await svc.request({ url: '/api/token', token, headers: { origin } });
  assertShed(t, fromBrowser, 'from a browser');
  t.match(fromBrowser.headers, {
    'access-control-allow-origin': origin, 'access-control-expose-headers': /retry-after/, 'x-content-type-options': 'nosniff',
  }, 'a shed answer has the CORS and security headers: a page can read its Retry-After');
  t.equal((await svc.request({ url: '/healthz' })).statusCode, 200, '/healthz is never shed');
  t.equal((await svc.request({ url: '/readyz' })).statusCode, 200, '/readyz is never shed');
  const scrape = await svc.app.inject({ url: '/metrics' });
  t.equal(scrape.statusCode, 200, '/metrics is never shed');
  t.match(scrape.body, /^http_requests_shed_total\{reason="event_loop_delay"\} [1-9]\d*$/m, 'sheds are counted');
  t.equal((await notShedding.inject({ url: '/api/token', headers: { authorization: `Bearer ${token}` } })).statusCode, 200,
    'OVERLOAD_MAX_EVENT_LOOP_DELAY_MS=0: the same lag, nothing shed');
  // A burst from one client: its lines are budgeted like refusals, the rest summed up.
  const burst = await Promise.all(Array.from({ length: 60 }, () => svc.request({ url: '/api/token', token })));
  t.same(new Set(burst.map((answer) => answer.statusCode)), new Set([503]), 'a burst is shed');
  const shedTotal = await shedCount(svc, 'event_loop_delay');
  t.ok(shedTotal >= 64, 'each shed request counted');
  await lag.stop();
  t.same(await svc.snapshot(), identitiesBefore, 'a shed request did nothing');
  await sleep(1100);
  const entries = logLines.map((line) => JSON.parse(line) as { msg: string; code?: string; untold?: Record<string, number> });
  const logged = entries.filter((entry) => entry.msg === 'request' && entry.code === 'overloaded').length;
  const untold = entries.reduce((sum, entry) => sum + (entry.untold?.['503 overloaded /api/token'] ?? 0), 0);
  t.ok(logged <= 2 * UNIDENTIFIED_REFUSAL_LINES_PER_SECOND, `${logged} shed requests logged one by one`);
  t.ok(untold > 0 && logged + untold >= shedTotal - 2, `the others summed up: ${untold}`);

  t.equal((await untilServed(() => svc.request({ url: '/api/token', token }))).statusCode, 200, 'the loop caught up: served again');
  const shedSoFar = await shedCount(svc, 'event_loop_delay');
  for (let i = 0; i < 5; i++) t.equal((await svc.request({ url: '/api/user', token })).statusCode, 200, 'and keeps being served');
  t.equal(await shedCount(svc, 'event_loop_delay'), shedSoFar, 'nothing more shed');
});

t.test('with PROBE_PORT, the probe port\'s probes are never shed', async (t) => {
  const svc = await startTestService(t, { ...SHEDDING, PROBE_PORT: '0' });
  const lag = lagEventLoop(t);
  assertShed(t, await untilShed(() => svc.request({ url: '/api/user', token: svc.userToken() })), 'GET /api/user');
  for (const probe of ['/healthz', '/readyz']) {
    const answer = await fetch(`${svc.app.probeAddress!}${probe}`);
    t.equal(answer.status, 200, `${probe} on the probe port is never shed`);
    await answer.body?.cancel();
  }
  await lag.stop();
});

t.test('OVERLOAD_MAX_EVENT_LOOP_UTILIZATION sheds while the loop is busier than that share', async (t) => {
  const svc = await startTestService(t, { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: '0.8', OVERLOAD_SAMPLE_INTERVAL_MS: '100' });
  const token = svc.userToken();
  t.equal((await untilServed(() => svc.request({ url: '/api/token', token }))).statusCode, 200, 'idle: served');
  const lag = lagEventLoop(t);
  assertShed(t, await untilShed(() => svc.request({ url: '/api/token', token })), 'GET /api/token');
  t.ok(await shedCount(svc, 'event_loop_utilization') >= 1, 'counted by its reason');
  t.equal(await shedCount(svc, 'event_loop_delay'), 0);
  await lag.stop();
});
