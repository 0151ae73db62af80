// OpenTelemetry as operators get it: the service as a real process with the telemetry bootstrap
// (as npm start and the image run it), exporting OTLP http/json to a receiver of the test's.
// One first-token request is one trace continuing the caller's traceparent; a client's sampled
// flag decides nothing; nothing secret or personal is exported; and without an exporter the
// bootstrap loads no OpenTelemetry module.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import t, { type Test } from 'tap';
import { projectFile } from '../src/projectFiles.js';
import { startAcsEmulator } from '../emulators/acsEmulator.js';
import { startEntraEmulator } from '../emulators/entraEmulator.js';
import { moduleHooksNodeOptions } from './helpers/moduleHooks.js';
import { startOtlpReceiver, type ReceivedSpan } from './helpers/otlpReceiver.js';
import { startServiceProcess, type ServiceProcess } from './helpers/serviceProcess.js';
import { createTestDatabase } from './helpers/testDatabase.js';
import { testServiceEnv } from './helpers/testServiceEnv.js';

// Starts service processes, each transpiling src/ with tsx before it listens.
t.setTimeout(240_000);

const SERVER_KIND = 2;
const CLIENT_KIND = 3;
// `node --import tsx --import src/telemetry/bootstrap.ts src/server.ts`: the bootstrap on the
// command line, as npm start gives it (through NODE_OPTIONS, worker threads would load it too).
const startWithBootstrap = (t: Test, env: Record<string, string>) =>
  startServiceProcess(t, env, '--import', { cwd: tmpdir() }, [import.meta.resolve('tsx'), '--import', import.meta.resolve('../src/telemetry/bootstrap.ts'), projectFile('src', 'server.ts')]);
const traceparent = (traceId: string, sampled: boolean) => `00-${traceId}-${randomBytes(8).toString('hex')}-${sampled ? '01' : '00'}`;

/**
 * One token request continuing a caller's trace with this sampled flag, then SIGTERM: stopping
 * flushes what waits, so whatever was kept has been sent once the process has exited.
 */
async function requestThenStop(t: Test, service: ServiceProcess, entra: { mintAccessToken(): string }, sampled: boolean): Promise<string> {
  t.ok(service.url, `listening ${service.output().stderr}`);
  const traceId = randomBytes(16).toString('hex');
  const answer = await fetch(`${service.url}/api/token`, { headers: { authorization: `Bearer ${entra.mintAccessToken()}`, traceparent: traceparent(traceId, sampled) } });
  t.equal(answer.status, 200);
  service.kill('SIGTERM');
  t.equal(await service.exited, 0);
  return traceId;
}

async function listening(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** A receiver serving HTTPS (Azure Monitor's exporter sends nothing else) and the service's variables for it. */
async function azureMonitorReceiver(status?: number) {
  const { private: key, cert } = await generate([{ name: 'commonName', value: '127.0.0.1' }], { keySize: 2048, extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }] });
  const caFile = join(mkdtempSync(join(tmpdir(), 'telemetry-ca-')), 'ca.pem');
  writeFileSync(caFile, cert);
  const receiver = await startOtlpReceiver({ key, cert }, status);
  const env = {
    NODE_EXTRA_CA_CERTS: caFile,
    APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${randomUUID()};IngestionEndpoint=${receiver.url}/;LiveEndpoint=${receiver.url}/`,
    // The exporter's own usage reports (to Microsoft's endpoints, not this receiver).
    APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
  };
  return { receiver, env };
}

t.test('traces and metrics over OTLP', async (t) => {
  const [entra, acs, database, receiver] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase(), startOtlpReceiver()]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close(), receiver.close()]); await database.drop(); });
  const service = await startWithBootstrap(t, {
    ...testServiceEnv({ entra, acs, database }),
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'token-service-under-test',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_METRIC_EXPORT_INTERVAL: '500',
  });
  t.ok(service.url, `listening ${service.output().stderr}`);

  const oid = randomUUID();
  const bearer = entra.mintAccessToken({ objectId: oid });
  const sub = (JSON.parse(Buffer.from(bearer.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
  const traceId = randomBytes(16).toString('hex');
  const first = await fetch(`${service.url}/api/token?scopes=chat`, { headers: { authorization: `Bearer ${bearer}`, traceparent: traceparent(traceId, false) } });
  t.equal(first.status, 200);
  const { token, user } = (await first.json()) as { token: string; user: { communicationUserId: string } };
  // Query strings name users (the admin API's keys) and carry whatever a client sends.
  const subject = `subject-${randomUUID()}`;
  await fetch(`${service.url}/admin/identities?tenantId=${entra.tenantId}&objectId=${oid}&subject=${subject}`, { headers: { authorization: `Bearer ${bearer}` } });
  const stray = randomUUID();
  t.equal((await fetch(`${service.url}/api/token?scopes=chat&hint=${stray}`, { headers: { authorization: `Bearer ${bearer}` } })).status, 400);

  const inTrace = () => receiver.spans().filter((span) => span.traceId === traceId);
  const server = () => inTrace().find((span) => span.kind === SERVER_KIND);
  t.ok(await receiver.waitFor(() => server() !== undefined && inTrace().some((span) => span.kind === CLIENT_KIND)), 'the trace is exported');
  const root = server()!;
  t.equal(root.name, 'GET /api/token', 'named by the route template');
  t.equal(root.attributes['openapi.operation_id'], 'getToken');
  t.equal(root.attributes['http.route'], '/api/token');
  t.equal(root.attributes['url.path'], '/api/token', 'url.path without the query string');
  t.ok(root.parentSpanId, 'the server span continues the incoming traceparent');
  const descendants = (span: ReceivedSpan): ReceivedSpan[] =>
    inTrace().filter((child) => child.parentSpanId === span.spanId).flatMap((child) => [child, ...descendants(child)]);
  const under = descendants(root);
  t.equal(under.length, inTrace().length - 1, 'every span of the trace is under the server span');
  const statements = under.filter((span) => span.attributes['db.system.name'] === 'postgresql' && typeof span.attributes['db.query.text'] === 'string');
  t.ok(statements.length >= 4, `a span per PostgreSQL statement (${statements.length})`);
  t.ok(statements.some((span) => /^INSERT INTO acs_identities/.test(String(span.attributes['db.query.text']))), "the identity's INSERT among them");
  const acsCalls = under.filter((span) => span.kind === CLIENT_KIND && String(span.attributes['url.full'] ?? span.attributes['http.url'] ?? '').startsWith(new URL(acs.connectionString.split(';')[0]!.replace('endpoint=', '')).origin));
  t.equal(acsCalls.length, 1, 'one span for the ACS call');
  t.match(acsCalls[0]!.attributes['url.full'] ?? acsCalls[0]!.attributes['http.url'], /\/identities/);
  const creation = under.find((span) => span.name === 'identity create');
  t.ok(creation, "the identity's creation under its lock");
  t.ok(descendants(creation!).some((span) => span.spanId === acsCalls[0]!.spanId), 'the ACS call is within it');
  t.match(creation!.attributes['enduser.pseudo.id'], /^[\w+/=-]{16,}$/, 'the user as the keyed hash');
  t.equal(under.find((span) => span.name === 'token issue')?.attributes['acs.token.source'], 'created');

  // The next request is served the same token again, and its span says so.
  const again = await fetch(`${service.url}/api/token?scopes=chat`, { headers: { authorization: `Bearer ${bearer}` } });
  t.equal(again.status, 200);
  t.ok(await receiver.waitFor(() => receiver.spans().some((span) => span.name === 'token issue' && span.attributes['acs.token.source'] === 'reused')), 'token reuse: a hit');

  // A refused token: the span says why, and holds no token.
  const forged = `${bearer.slice(0, bearer.lastIndexOf('.'))}.${randomBytes(256).toString('base64url')}`;
  const refusedTrace = randomBytes(16).toString('hex');
  const refused = await fetch(`${service.url}/api/token`, { headers: { authorization: `Bearer ${forged}`, traceparent: traceparent(refusedTrace, true) } });
  t.equal(refused.status, 401);
  const { code } = (await refused.json()) as { code: string };
  const refusedSpan = () => receiver.spans().find((span) => span.traceId === refusedTrace && span.kind === SERVER_KIND);
  t.ok(await receiver.waitFor(() => refusedSpan() !== undefined));
  t.equal(refusedSpan()!.attributes['error.type'], code, 'the problem code');
  t.equal(refusedSpan()!.attributes['http.response.status_code'], 401);
  // The caller's error, not the server's: the span's status stays unset, as for any 4xx, and
  // the refusal is no exception event (it is answered without going through Fastify's onError).
  t.notOk(refusedSpan()!.status?.code, 'status unset');
  t.notOk(refusedSpan()!.events?.some((event) => event.name === 'exception'), 'no exception recorded');

  t.ok(await receiver.waitFor(() => receiver.metricNames().has('acs_tokens_issued_total')), 'the Prometheus series are exported as OTLP metrics');
  t.ok(receiver.metricNames().has('http_request_duration_seconds'));

  // Probes and /metrics are not traced, with a query string too.
  for (const path of ['/healthz?from=probe', '/readyz?from=probe', '/metrics?from=scraper']) await (await fetch(`${service.url}${path}`)).arrayBuffer();

  // ACS's URLs name the identity: revoking calls /identities/{id}/:revokeAccessTokens.
  const revoked = await fetch(`${service.url}/api/token/revoke`, { method: 'POST', headers: { authorization: `Bearer ${bearer}` } });
  t.equal(revoked.status, 204);
  const revokeCall = () => receiver.spans().find((span) => /revokeAccessTokens/.test(String(span.attributes['url.full'])));
  t.ok(await receiver.waitFor(() => revokeCall() !== undefined), 'the revocation is traced');
  t.match(revokeCall()!.attributes['url.full'], /\/identities\/8:acs:\{id\}\/:revokeAccessTokens/, "the identity's id is redacted from the URL");

  t.ok(await receiver.waitFor(() => receiver.spans().some((span) => span.name === 'GET /admin/identities')), 'the admin lookup is traced');
  t.ok(await receiver.waitFor(() => receiver.spans().some((span) => span.name === 'GET /api/token' && span.attributes['http.response.status_code'] === 400)), 'the refused query is traced');
  const HARMLESS = new Set(['scopes', 'expiresInMinutes', 'api-version']);
  const queryOf = (key: string, value: unknown) => (key === 'url.query' ? String(value) : String(value).split('?')[1] ?? '');
  const withQuery = receiver.spans().filter((span) => Object.entries(span.attributes)
    .filter(([key]) => ['url.path', 'http.target', 'url.query', 'url.full', 'http.url'].includes(key))
    .some(([key, value]) => [...new URLSearchParams(queryOf(key, value)).keys()].some((name) => !HARMLESS.has(name))));
  t.same(withQuery.map((span) => span.name), [], 'no query parameter but harmless ones in any URL attribute');
  t.same(receiver.spans().filter((span) => /healthz|readyz|metrics/.test(`${span.name} ${String(span.attributes['url.path'])}`)).map((span) => span.name), [], 'no probe or /metrics span');
  const sent = receiver.received();
  for (const [what, secret] of Object.entries({ subject, stray, token, bearer, forged, signature: bearer.split('.')[2]!, oid, sub, acsUserId: user.communicationUserId, acsUserIdEncoded: encodeURIComponent(user.communicationUserId), acsGuid: user.communicationUserId.split('_').at(-1)! })) {
    t.notOk(sent.includes(secret), `no ${what} in anything exported`);
  }
  t.match(sent, /token-service-under-test/, 'OTEL_SERVICE_NAME names the service');
});

// The service's rule, whatever the exporter: Azure Monitor's distribution reads the sampler
// variables itself.
for (const exporter of ['OTLP', 'Azure Monitor']) {
  t.test(`${exporter}: a sampled traceparent with a ratio of 0 is not exported`, async (t) => {
    const [entra, acs, database, { receiver, env }] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase(), exporter === 'OTLP' ? startOtlpReceiver().then((receiver) => ({ receiver, env: {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    } })) : azureMonitorReceiver()]);
    t.teardown(async () => { await Promise.all([entra.close(), acs.close(), receiver.close()]); await database.drop(); });
    const service = await startWithBootstrap(t, {
      ...testServiceEnv({ entra, acs, database }),
      ...env,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    const traceId = await requestThenStop(t, service, entra, true);
    t.equal(receiver.spans().length, 0, 'no span of any trace');
    t.notOk(receiver.received().includes(traceId));
    t.notMatch(receiver.received(), /RequestData|RemoteDependencyData/, 'no request or dependency item');
  });
}

/** The emulators, a database and a service exporting its traces alone, as http/json, to a receiver; `env` added. */
async function startTracedService(t: Test, env: Record<string, string>) {
  const [entra, acs, database, receiver] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase(), startOtlpReceiver()]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close(), receiver.close()]); await database.drop(); });
  const service = await startWithBootstrap(t, {
    ...testServiceEnv({ entra, acs, database }),
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    ...env,
  });
  t.ok(service.url, `listening ${service.output().stderr}`);
  return { entra, acs, receiver, service };
}

t.test('OTLP at a ratio of 0.5: a request not kept makes no span at all, and its log line no trace id', async (t) => {
  const { entra, receiver, service } = await startTracedService(t, { OTEL_TRACES_SAMPLER_ARG: '0.5' });
  // TraceIdRatioBased decides by the trace id: at 0.5 it keeps the first and drops the second.
  const kept = `${'0'.repeat(31)}1`;
  const dropped = `ffffffff${'0'.repeat(24)}`;
  for (const [traceId, sampled] of [[kept, false], [dropped, true]] as const) {
    // A first token each: identity creation, statements and an ACS call, all traced when kept.
    const answer = await fetch(`${service.url}/api/token`, { headers: { authorization: `Bearer ${entra.mintAccessToken()}`, traceparent: traceparent(traceId, sampled) } });
    t.equal(answer.status, 200);
  }
  service.kill('SIGTERM');
  t.equal(await service.exited, 0);
  const spans = receiver.spans();
  t.ok(spans.some((span) => span.traceId === kept && span.kind === SERVER_KIND), 'the kept request is exported');
  t.ok(spans.some((span) => span.traceId === kept && span.name === 'identity create'), 'with its steps');
  t.same(spans.filter((span) => span.traceId !== kept).map((span) => span.name), [], 'nothing of the other request: no span, no statement or ACS call as a trace of its own');
  const requestLines = service.output().stdout.split('\n').filter((line) => line.includes('"msg":"request"') && line.includes('/api/token')).map((line) => JSON.parse(line) as Record<string, unknown>);
  t.same(requestLines.map((line) => line.trace_id), [kept, undefined], "the kept request's line carries its trace id, the other's none");
});

// A statement that waits for a connection must run in its own request's context, not in that of
// the request that releases the connection (instrumentation-pg's ignoreConnectSpans broke this).
t.test('OTLP, a pool of one: a statement that waited for the connection is in its own trace', async (t) => {
  const { entra, acs, receiver, service } = await startTracedService(t, { DATABASE_POOL_MAX: '1', OTEL_BSP_SCHEDULE_DELAY: '100' });
  const waiter = entra.mintAccessToken();
  t.equal((await fetch(`${service.url}/api/token`, { headers: { authorization: `Bearer ${waiter}` } })).status, 200);
  // The first token of a new user holds the only connection while ACS creates its identity.
  acs.setLatency(1000);
  const [holderTrace, waiterTrace] = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
  const holding = fetch(`${service.url}/api/token`, { headers: { authorization: `Bearer ${entra.mintAccessToken()}`, traceparent: traceparent(holderTrace, true) } });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const waiting = fetch(`${service.url}/api/user`, { headers: { authorization: `Bearer ${waiter}`, traceparent: traceparent(waiterTrace, true) } });
  t.same((await Promise.all([holding, waiting])).map((answer) => answer.status), [200, 200]);
  const lookups = (traceId: string) => receiver.spans().filter((span) => span.traceId === traceId && span.attributes['db.postgresql.plan'] === 'identity_lookups');
  t.ok(await receiver.waitFor(() => lookups(waiterTrace).length > 0), "the waiting lookup is in its request's trace");
  t.equal(lookups(holderTrace).length, 1, 'and the holder has only its own');
  // The wait itself shows in the waiter's trace, as its pool checkout.
  t.ok(receiver.spans().some((span) => span.traceId === waiterTrace && span.name.startsWith('pg-pool.connect')), "the waiter's trace holds its pool checkout");
});

t.test("Azure Monitor: parentbased_always_on keeps every trace, whatever the caller's flag", async (t) => {
  const [entra, acs, database, { receiver, env }] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase(), azureMonitorReceiver()]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close(), receiver.close()]); await database.drop(); });
  const service = await startWithBootstrap(t, { ...testServiceEnv({ entra, acs, database }), ...env, OTEL_TRACES_SAMPLER: 'parentbased_always_on' });
  const traceId = await requestThenStop(t, service, entra, false);
  t.ok(receiver.received().includes(traceId), 'the trace is exported');
});

t.test('Azure Monitor: with a connection string, the same request is sent to its ingestion endpoint, redacted', async (t) => {
  const [entra, acs, database, { receiver, env }] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase(), azureMonitorReceiver()]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close(), receiver.close()]); await database.drop(); });
  const free = createServer();
  const probePort = await listening(free);
  await new Promise((resolve) => free.close(resolve));
  const service = await startWithBootstrap(t, { ...testServiceEnv({ entra, acs, database }), ...env, PROBE_PORT: String(probePort) });
  t.ok(service.url, `listening ${service.output().stderr}`);
  // Probes and /metrics are not traced, on either port.
  for (const url of [`http://127.0.0.1:${probePort}/healthz`, `http://127.0.0.1:${probePort}/readyz`, `${service.url}/metrics`]) await (await fetch(url)).arrayBuffer();
  const oid = randomUUID();
  const bearer = entra.mintAccessToken({ objectId: oid });
  const answer = await fetch(`${service.url}/api/token`, { headers: { authorization: `Bearer ${bearer}` } });
  t.equal(answer.status, 200);
  const { token, user } = (await answer.json()) as { token: string; user: { communicationUserId: string } };
  t.equal((await fetch(`${service.url}/api/token/revoke`, { method: 'POST', headers: { authorization: `Bearer ${bearer}` } })).status, 204);
  // Stopping flushes what waits.
  service.kill('SIGTERM');
  await service.exited;
  const sent = receiver.received();
  t.match(sent, /GET \/api\/token/, 'the request is exported');
  t.match(sent, /identity create/);
  t.equal(sent.match(/"baseType":"RequestData"/g)?.length, 2, 'one request item a request, none for probes or /metrics');
  t.notMatch(sent, /healthz|readyz|\/metrics/);
  t.same(receiver.paths().filter((path) => /quickpulse/i.test(path)), [], 'no Live Metrics (its spans are not redacted)');
  for (const [what, secret] of Object.entries({ token, bearer, oid, acsGuid: user.communicationUserId.split('_').at(-1)! })) {
    t.notOk(sent.includes(secret), `no ${what} in anything exported`);
  }
});

t.test('Azure Monitor: what its ingestion endpoint refuses is not stored on disk (the image\'s root filesystem is read-only)', async (t) => {
  const [entra, acs, database, { receiver, env }] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase(), azureMonitorReceiver(403)]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close(), receiver.close()]); await database.drop(); });
  const temporary = mkdtempSync(join(tmpdir(), 'telemetry-tmpdir-'));
  const service = await startWithBootstrap(t, { ...testServiceEnv({ entra, acs, database }), ...env, TMPDIR: temporary, OTEL_BSP_SCHEDULE_DELAY: '100' });
  t.ok(service.url, `listening ${service.output().stderr}`);
  t.equal((await fetch(`${service.url}/api/token`, { headers: { authorization: `Bearer ${entra.mintAccessToken()}` } })).status, 200);
  t.ok(await receiver.waitFor(() => /RequestData/.test(receiver.received())), 'the request item was sent, and refused');
  // The exporter stores what was refused (when it may) once the answer has come.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  service.kill('SIGTERM');
  t.equal(await service.exited, 0);
  t.same(readdirSync(temporary, { recursive: true }).filter((name) => /AzureMonitor/i.test(String(name))), [], 'nothing kept in the temporary folder');
});

t.test('without an exporter configured, the bootstrap loads no OpenTelemetry module', async (t) => {
  const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase()]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close()]); await database.drop(); });
  const folder = mkdtempSync(join(tmpdir(), 'telemetry-modules-'));
  const loaded = async (env: Record<string, string>, name: string) => {
    const logFile = join(folder, name);
    const service = await startWithBootstrap(t, { ...testServiceEnv({ entra, acs, database }), ...env, NODE_OPTIONS: moduleHooksNodeOptions({ logFile }) });
    t.ok(service.url, `listening (${name})`);
    service.kill('SIGTERM');
    await service.exited;
    return readFileSync(logFile, 'utf8');
  };
  // The service's code imports @opentelemetry/api (a no-op without an SDK); nothing else may load.
  const telemetryPackages = /node_modules\/(@opentelemetry\/(?!api\/)|@fastify\/otel\/|@azure\/monitor-opentelemetry)/;
  const off = await loaded({}, 'off');
  t.match(off, /src\/telemetry\/bootstrap\.ts/, 'the bootstrap ran');
  t.notMatch(off, telemetryPackages, 'no OpenTelemetry package');
  t.notMatch(off, /src\/telemetry\/telemetrySdk\.ts/);
  // The check can fail: with an exporter configured, the same log names them.
  const on = await loaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'on');
  t.match(on, telemetryPackages);
});

t.test('SIGTERM with a collector that never answers: the process still exits at once, with 0', async (t) => {
  const hung = createServer(() => {});
  const hungUrl = `http://127.0.0.1:${await listening(hung)}`;
  const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase()]);
  t.teardown(async () => { hung.closeAllConnections(); hung.close(); await Promise.all([entra.close(), acs.close()]); await database.drop(); });
  const service = await startWithBootstrap(t, { ...testServiceEnv({ entra, acs, database }), OTEL_EXPORTER_OTLP_ENDPOINT: hungUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', SHUTDOWN_DELAY_MS: '0' });
  t.ok(service.url, `listening ${service.output().stderr}`);
  t.equal((await fetch(`${service.url}/api/token`, { headers: { authorization: `Bearer ${entra.mintAccessToken()}` } })).status, 200);
  const stopping = Date.now();
  service.kill('SIGTERM');
  t.equal(await service.exited, 0, service.output().stderr);
  t.ok(Date.now() - stopping < 5_000, `exited in ${Date.now() - stopping} ms`);
});

t.test('a bad telemetry value stops the start with a message naming it', async (t) => {
  const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase()]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close()]); await database.drop(); });
  const service = await startWithBootstrap(t, { ...testServiceEnv({ entra, acs, database }), OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' });
  t.equal(service.url, undefined, 'not listening');
  if (service.url) service.kill('SIGTERM');
  t.equal(await service.exited, 1);
  t.match(service.output().stderr, /^OTEL_EXPORTER_OTLP_ENDPOINT must be an http:\/\/ or https:\/\/ URL, not collector:4318\./);
});
