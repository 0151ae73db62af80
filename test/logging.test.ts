// Logs: a request id on every line of a request and in its answer; tokens and credential
// headers never appear, whatever the log level; the active trace span's ids when there is one.
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { context, INVALID_SPAN_CONTEXT, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import t from 'tap';
import { censorNestedCredentials, LOG_CENSOR } from '../src/http/logRedaction.js';
import { UNIDENTIFIED_REFUSAL_LINES_PER_SECOND } from '../src/plugins/requestLog.js';
import { startTestService } from './helpers/testService.js';

const lines: string[] = [];
const svc = await startTestService(t, { LOG_LEVEL: 'trace' }, { logStream: { write: (line) => { lines.push(line); } } });

t.test('no token, no credential header, and a request id everywhere', async (t) => {
  const objectId = '5d7c2a1e-8b4f-4c3a-9e2d-1f0a6b7c8d9e';
  const userToken = svc.userToken({ objectId });
  const teamsToken = svc.userToken({ scope: 'Teams.ManageCalls' });
  const answers = [
    await svc.request({ url: '/api/token', token: userToken, headers: { 'teams-user-aad-token': teamsToken, 'x-request-id': 'log-test-1' } }),
    await svc.request({ url: '/api/token', token: `${userToken}x`, headers: { 'x-request-id': 'log-test-2' } }),
    await svc.request({ method: 'POST', url: '/api/token/revoke', token: userToken, headers: { 'x-request-id': 'log-test-3' } }),
  ];
  t.same(answers.map((a) => a.statusCode), [200, 401, 204]);
  const acsToken: string = answers[0]!.json.token;

  const log = lines.join('');
  t.ok(lines.length >= 3, `${lines.length} log lines`);
  t.notOk(log.includes(objectId), 'the user appears only as a hash, never by oid');
  for (const [name, secret] of [['user token', userToken], ['Teams token', teamsToken], ['ACS token', acsToken]] as const) {
    // Any long piece of a token (its signature, its payload) would do; check all three parts.
    for (const part of secret.split('.')) t.notOk(log.includes(part), `no part of the ${name} in the logs`);
  }
  const entries = lines.map((line) => JSON.parse(line));
  for (const [id, status, withUser] of [['log-test-1', 200, true], ['log-test-2', 401, false], ['log-test-3', 204, true]] as const) {
    const requestLines = entries.filter((entry) => entry.reqId === id && entry.msg === 'request');
    t.equal(requestLines.length, 1, `${id}: one line for the request`);
    t.match(requestLines[0], { method: String, route: String, status, ms: Number }, `${id}: route, status, latency`);
    t.equal(typeof requestLines[0]?.user, withUser ? 'string' : 'undefined', `${id}: the caller as a hash when known`);
  }
  t.same(answers.map((a) => a.headers['x-request-id']), ['log-test-1', 'log-test-2', 'log-test-3']);
});

t.test('a flood of refusals from one unidentified client: some lines, the rest summed up; other clients and identified callers still logged', async (t) => {
  const metric = async () => Number(/^http_requests_total\{method="GET",route="\/api\/token",status="401"\} (\S+)$/m
    .exec((await svc.app.inject({ url: '/metrics' })).body)?.[1] ?? 0);
  const before = await metric();
  const start = lines.length;
  const flood = 300;
  const attacker = '198.51.100.9';
  const [identified, bystander, ...answers] = await Promise.all([
    svc.request({ url: '/api/user', token: svc.userToken({ objectId: '0b6c1a2e-3d4f-4a5b-8c6d-7e8f9a0b1c2d' }) }),
    svc.app.inject({ url: '/api/token', headers: { authorization: 'Bearer x.y.z', 'x-request-id': 'bystander' }, remoteAddress: '192.0.2.7' }),
    ...Array.from({ length: flood }, (_, i) =>
      svc.app.inject({ url: '/api/token', headers: { authorization: `Bearer a.b.${i}` }, remoteAddress: attacker })),
  ]);
  t.ok(answers.every((answer) => answer.statusCode === 401), 'all refused');
  t.equal(identified.statusCode, 404);
  t.equal(bystander.statusCode, 401);

  // Every refusal is either on a line of its own or in a summary (one a second): wait for all.
  const entries = () => lines.slice(start).map((line) => JSON.parse(line));
  const count = () => {
    const flooded = entries().filter((entry) => entry.msg === 'request' && entry.status === 401 && entry.reqId !== 'bystander').length;
    const summed = entries().filter((entry) => entry.untold).reduce((sum, entry) => sum + (entry.untold['401 invalid_token /api/token'] ?? 0), 0);
    return { flooded, summed };
  };
  for (let i = 0; i < 60 && count().flooded + count().summed < flood; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const { flooded, summed } = count();
  // The flood may straddle two seconds: at most two seconds' worth of lines.
  t.ok(flooded >= 1 && flooded <= 2 * UNIDENTIFIED_REFUSAL_LINES_PER_SECOND, `${flooded} of the flood's refusals logged one by one`);
  t.equal(flooded + summed, flood, `and ${summed} summed up: none lost`);
  t.ok(entries().filter((entry) => entry.untold).every((entry) => entry.clients === 1), 'the summary says one client');
  t.equal(await metric() - before, flood + 1, 'metrics count every one');
  t.ok(entries().some((entry) => entry.reqId === 'bystander' && entry.msg === 'request'), 'another client\'s refusal is logged during the flood');
  t.ok(entries().some((entry) => entry.msg === 'request' && entry.status === 404 && typeof entry.user === 'string'),
    'so is an identified caller\'s refusal');
});

t.test('a signed token refused for its claims is nobody: no user on its line, whatever its claims say', async (t) => {
  const start = lines.length;
  // Claims named like the service's own user fields, in a token that lacks the scope.
  const token = svc.userToken({ scope: 'User.Read', claims: { tenantId: 'forged-tenant', objectId: 'forged-object' } });
  const answer = await svc.request({ url: '/api/user', token, headers: { 'x-request-id': 'log-test-forged' } });
  t.equal(answer.statusCode, 403);
  const line = lines.slice(start).map((entry) => JSON.parse(entry)).find((entry) => entry.reqId === 'log-test-forged' && entry.msg === 'request');
  t.ok(line, 'its request line');
  t.equal(line?.user, undefined, 'no user hash: the caller was not identified');
});

t.test('credentials a log call might include are censored: at the top, one level down, and in headers', async (t) => {
  const start = lines.length;
  const failure = Object.assign(new Error('ACS said no'), { token: 'secret-error-token' });
  svc.app.log.info({
    token: 'secret-top', accessToken: 'secret-top-access',
    issued: { token: 'secret-nested', expiresOn: 'soon' }, exchange: { accessToken: 'secret-nested-access' },
    settings: Object.freeze({ token: 'secret-frozen', port: 9464 }),
    err: failure,
    req: { headers: { authorization: 'Bearer secret-req', 'teams-user-aad-token': 'secret-req-teams', accept: 'application/json' } },
    headers: { authorization: 'Bearer secret-headers', 'teams-user-aad-token': 'secret-headers-teams' },
  }, 'censoring check');
  const text = lines.slice(start).join('');
  t.notOk(/secret-/.test(text), 'no credential on the line');
  const line = JSON.parse(text.split('\n').find((entry) => entry.includes('censoring check'))!);
  t.match(line, {
    token: LOG_CENSOR, accessToken: LOG_CENSOR,
    issued: { token: LOG_CENSOR, expiresOn: 'soon' }, exchange: { accessToken: LOG_CENSOR },
    settings: { token: LOG_CENSOR, port: 9464 },
    err: { type: 'Error', message: 'ACS said no', token: LOG_CENSOR },
    headers: { authorization: LOG_CENSOR, 'teams-user-aad-token': LOG_CENSOR },
  }, 'each censored where it was, the rest kept (a frozen object is copied)');
  // (`req` goes through Fastify's request serializer, which keeps no headers at all.)
  t.equal(failure.token, 'secret-error-token', 'the logged object itself is untouched');
  // The copy of an error is still that error, for pino's serializer: same prototype, message, stack.
  const copy = censorNestedCredentials({ err: failure }).err as Error & { token: string };
  t.ok(copy instanceof Error && copy !== failure, 'an error is copied as an Error');
  t.same([copy.message, copy.stack, copy.token], [failure.message, failure.stack, LOG_CENSOR], 'with its message and stack');
});

t.test("a deletion queued for retry is logged with the request's id", async (t) => {
  const token = svc.userToken();
  t.equal((await svc.request({ url: '/api/token', token })).statusCode, 200);
  svc.acs.injectFault({ status: 503, operations: ['deleteIdentity'], times: Infinity });
  t.teardown(() => svc.acs.clearFaults());
  const answer = await svc.request({ method: 'DELETE', url: '/api/user', token, headers: { 'x-request-id': 'log-test-queued' } });
  t.equal(answer.statusCode, 202);
  const queued = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'ACS identity deletion queued for retry');
  t.equal(queued?.reqId, 'log-test-queued', 'the warning names the DELETE /api/user that caused it');
});

t.test('a line written while a trace span is active carries its ids; without a tracer provider or a span, none', async (t) => {
  const entries = (from: number) => lines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>);
  const traceFields = (entry: Record<string, unknown>) => ['trace_id', 'span_id', 'trace_flags'].filter((name) => name in entry);
  t.ok(lines.length > 0 && entries(0).every((entry) => traceFields(entry).length === 0), 'no tracer provider so far: no trace fields on any line');

  // What an OpenTelemetry SDK does when OTEL_* settings switch it on, here in-process.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  t.ok(context.setGlobalContextManager(contextManager) && trace.setGlobalTracerProvider(new BasicTracerProvider()), 'a tracer provider registered');
  t.teardown(() => { trace.disable(); context.disable(); });
  const tracer = trace.getTracer('logging-test');

  // An incoming request's span, child of the caller's traceparent, active while the service handles it.
  const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED, isRemote: true };
  const start = lines.length;
  const { answer, span } = await context.with(trace.setSpanContext(ROOT_CONTEXT, caller), () =>
    tracer.startActiveSpan('GET /api/token', async (span) => {
      const answer = await svc.request({ url: '/api/token', token: svc.userToken(), headers: { 'x-request-id': 'log-test-traced' } });
      span.end();
      return { answer, span };
    }));
  t.equal(answer.statusCode, 200);
  const line = entries(start).find((entry) => entry.reqId === 'log-test-traced' && entry.msg === 'request');
  t.match(line, { trace_id: caller.traceId, span_id: span.spanContext().spanId, trace_flags: '01', status: 200, route: '/api/token' },
    "the request's line: the caller's trace, the active span");
  t.not(span.spanContext().spanId, caller.spanId, 'the span is the service\'s own, not the caller\'s');

  const untracedStart = lines.length;
  t.equal((await svc.request({ url: '/api/token', token: svc.userToken(), headers: { 'x-request-id': 'log-test-untraced' } })).statusCode, 200);
  const untraced = entries(untracedStart).find((entry) => entry.reqId === 'log-test-untraced' && entry.msg === 'request');
  t.ok(untraced, 'a request outside any span is logged');
  t.same(traceFields(untraced!), [], 'with no trace fields');

  // A log call in a span, whose own fields win over nothing: both kept, the object logged untouched.
  const logged = { token: 'secret-in-span', detail: 'kept' };
  const spanStart = lines.length;
  tracer.startActiveSpan('work', (work) => {
    svc.app.log.info(logged, 'in a span');
    work.end();
  });
  const inSpan = entries(spanStart).find((entry) => entry.msg === 'in a span');
  t.match(inSpan, { trace_id: /^[0-9a-f]{32}$/, span_id: /^[0-9a-f]{16}$/, token: LOG_CENSOR, detail: 'kept' }, 'ids and the line\'s fields, still censored');
  t.same(logged, { token: 'secret-in-span', detail: 'kept' }, 'the logged object itself is untouched');

  // What a propagator leaves for a traceparent it cannot read: a span of zeros, which is none.
  const invalidStart = lines.length;
  context.with(trace.setSpanContext(ROOT_CONTEXT, INVALID_SPAN_CONTEXT), () => svc.app.log.info('in an invalid span'));
  const inInvalid = entries(invalidStart).find((entry) => entry.msg === 'in an invalid span');
  t.ok(inInvalid, 'logged');
  t.same(traceFields(inInvalid!), [], 'no ids of zeros');
});
