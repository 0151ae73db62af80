// Telemetry's pure rules: which standard variables turn it on and which values are refused, the
// ratio of traces kept and how a remote parent's sampled flag is treated, and what redaction
// rewrites (through the SDK's own tracer provider).
import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SamplingDecision, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import t from 'tap';
import { REDACTED, RedactingSpanProcessor, redactText, redactUrl } from '../../src/telemetry/redaction.js';
import { REQUEST_SPAN_ATTRIBUTE, requestSampling, samplingRatio, serviceSampler, TelemetrySettingError } from '../../src/telemetry/sampling.js';
import { checkTelemetrySettings } from '../../src/telemetry/settings.js';
import { telemetryChoice } from '../../src/telemetry/telemetrySwitch.js';

t.test('which variables turn telemetry on', async (t) => {
  t.same(telemetryChoice({}), { traces: false, metrics: false, azureMonitor: false }, 'nothing set: off');
  t.same(telemetryChoice({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER_ARG: '0.5' }), { traces: false, metrics: false, azureMonitor: false }, 'no exporter: off');
  t.same(telemetryChoice({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), { traces: true, metrics: true, azureMonitor: false });
  t.same(telemetryChoice({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_METRICS_EXPORTER: 'none' }), { traces: true, metrics: false, azureMonitor: false });
  t.same(telemetryChoice({ OTEL_TRACES_EXPORTER: 'otlp' }), { traces: true, metrics: false, azureMonitor: false }, 'otlp named: on');
  t.same(telemetryChoice({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector:4318/v1/metrics' }), { traces: false, metrics: true, azureMonitor: false });
  t.same(telemetryChoice({ APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=k', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' }), { traces: false, metrics: false, azureMonitor: true }, 'Azure Monitor takes the place of OTLP');
  t.same(telemetryChoice({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' }), { traces: false, metrics: false, azureMonitor: false });
});

t.test('the ratio of traces kept', async (t) => {
  t.equal(samplingRatio({}), 1);
  t.equal(samplingRatio({ OTEL_TRACES_SAMPLER_ARG: '0.25' }), 0.25);
  t.equal(samplingRatio({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }), 0);
  t.equal(samplingRatio({ OTEL_TRACES_SAMPLER: 'always_off' }), 0);
  t.equal(samplingRatio({ OTEL_TRACES_SAMPLER: 'parentbased_always_on', OTEL_TRACES_SAMPLER_ARG: '0.1' }), 1);
  t.throws(() => samplingRatio({ OTEL_TRACES_SAMPLER_ARG: '2' }), new TelemetrySettingError('OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, not 2.'));
  t.throws(() => samplingRatio({ OTEL_TRACES_SAMPLER_ARG: 'half' }), /OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/);
  t.throws(() => samplingRatio({ OTEL_TRACES_SAMPLER: 'jaeger_remote' }), /not supported/);
});

t.test("a remote parent's sampled flag decides nothing", async (t) => {
  const decide = (ratio: number, traceId: string, sampled: boolean, isRemote = true) => {
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: '0123456789abcdef', traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote });
    return serviceSampler(ratio).shouldSample(parent, traceId, 'GET /api/token', SpanKind.SERVER, {}, []).decision;
  };
  const low = '00000000000000000000000000000001';
  t.equal(decide(0, low, true), SamplingDecision.NOT_RECORD, 'ratio 0: a sampled remote parent is not kept');
  t.equal(decide(1, low, false), SamplingDecision.RECORD_AND_SAMPLED, 'ratio 1: an unsampled remote parent is kept');
  // At 0.5, some trace ids are kept and some not, each the same whatever the flag says.
  const traceIds = Array.from({ length: 64 }, () => randomBytes(16).toString('hex'));
  const kept = traceIds.filter((traceId) => decide(0.5, traceId, false) === SamplingDecision.RECORD_AND_SAMPLED);
  t.ok(kept.length > 0 && kept.length < traceIds.length, `by the trace id (${kept.length} of ${traceIds.length} kept)`);
  t.same(traceIds.map((traceId) => decide(0.5, traceId, true)), traceIds.map((traceId) => decide(0.5, traceId, false)), 'not by the flag');
  t.equal(decide(0, low, true, false), SamplingDecision.RECORD_AND_SAMPLED, 'a local parent is followed');
});

t.test('a request is kept or not as it arrives, by the same rule, and its span then always', async (t) => {
  const remote = (traceId: string) => trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: TraceFlags.NONE, isRemote: true });
  const byRule = (ratio: number, traceId: string) => serviceSampler(ratio).shouldSample(remote(traceId), traceId, 'x', SpanKind.INTERNAL, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED;
  const header = (traceId: string, flags: string) => `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
  const traceIds = Array.from({ length: 64 }, () => randomBytes(16).toString('hex'));
  const atHalf = requestSampling(0.5);
  t.same(traceIds.map((traceId) => atHalf(header(traceId, '01'))), traceIds.map((traceId) => byRule(0.5, traceId)), "a caller's trace id decides as the sampler's rule does");
  t.same(traceIds.map((traceId) => atHalf(header(traceId, '00'))), traceIds.map((traceId) => byRule(0.5, traceId)), 'whatever its flag');
  t.equal(requestSampling(0)(header('00000000000000000000000000000001', '01')), false, 'ratio 0: never');
  t.equal(requestSampling(1)(header('ffffffffffffffffffffffffffffffff', '00')), true, 'ratio 1: always');
  // What the propagator refuses (an upper-case id too): @fastify/otel then starts the trace here.
  for (const bad of [undefined, '', 'garbage', `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`, '00-xyz-1-01', header('A'.repeat(32), '01')]) {
    t.equal(requestSampling(0)(bad), false, `no usable trace id (${String(bad)}): by the ratio alone, 0`);
    t.equal(requestSampling(1)(bad), true, `no usable trace id (${String(bad)}): by the ratio alone, 1`);
  }
  const atTenth = requestSampling(0.1);
  const kept = Array.from({ length: 2000 }, () => atTenth(undefined)).filter(Boolean).length;
  t.ok(kept > 100 && kept < 320, `without a traceparent, about the ratio is kept (${kept} of 2000)`);
  // Only a request requestSampling kept makes a span, so the sampler keeps each request span.
  const requestSpan = serviceSampler(0).shouldSample(remote(traceIds[0]!), traceIds[0]!, 'request', SpanKind.SERVER, { [REQUEST_SPAN_ATTRIBUTE]: '@fastify/otel' }, []);
  t.equal(requestSpan.decision, SamplingDecision.RECORD_AND_SAMPLED);
});

t.test('redaction', async (t) => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJ4In0.c2lnbmF0dXJl';
  t.equal(redactText(`https://res.communication.azure.com/identities/8:acs:1f2e_00000000-aaaa-bbbb-cccc-000000000001/:issueAccessToken?api-version=2025-06-30`),
    'https://res.communication.azure.com/identities/8:acs:{id}/:issueAccessToken?api-version=2025-06-30');
  t.equal(redactText('/identities/8%3Aacs%3A1f2e_00000000-aaaa-bbbb-cccc-000000000001'), '/identities/8:acs:{id}');
  t.equal(redactText(`token ${jwt} refused`), 'token [redacted] refused');
  t.equal(redactText(`Bearer ${jwt}`), 'Bearer [redacted]');
  t.equal(redactText('HMAC-SHA256 SignedHeaders=x-ms-date;host&Signature=abc'), 'HMAC-SHA256 [redacted]');
  t.equal(redactText('SELECT 1'), 'SELECT 1', 'the rest is left as it is');
});

t.test('numbers and endpoints the exporters would crash on or ignore are refused, by name', async (t) => {
  t.doesNotThrow(() => checkTelemetrySettings({}));
  t.doesNotThrow(() => checkTelemetrySettings({ OTEL_METRIC_EXPORT_INTERVAL: '500', OTEL_BSP_SCHEDULE_DELAY: '0', OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318' }));
  t.throws(() => checkTelemetrySettings({ OTEL_METRIC_EXPORT_INTERVAL: 'soon' }), new TelemetrySettingError('OTEL_METRIC_EXPORT_INTERVAL must be a whole number of milliseconds above 0, not soon.'));
  t.throws(() => checkTelemetrySettings({ OTEL_METRIC_EXPORT_INTERVAL: '0' }), /OTEL_METRIC_EXPORT_INTERVAL must be a whole number of milliseconds above 0/);
  t.throws(() => checkTelemetrySettings({ OTEL_BSP_SCHEDULE_DELAY: '-5' }), new TelemetrySettingError('OTEL_BSP_SCHEDULE_DELAY must be a whole number of milliseconds, 0 or more, not -5.'));
  t.throws(() => checkTelemetrySettings({ OTEL_EXPORTER_OTLP_TIMEOUT: '1.5' }), /OTEL_EXPORTER_OTLP_TIMEOUT must be a whole number/);
  t.throws(() => checkTelemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), new TelemetrySettingError('OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL, not collector:4318.'));
  t.throws(() => checkTelemetrySettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http//collector' }), /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http:\/\/ or https:\/\/ URL/);
});

t.test('query strings keep only harmless parameters', async (t) => {
  t.equal(redactUrl('url.path', '/admin/identities?tenantId=t&objectId=o'), '/admin/identities');
  t.equal(redactUrl('url.full', 'http://h/api/token?scopes=chat&hint=x&expiresInMinutes=60'), 'http://h/api/token?scopes=chat&expiresInMinutes=60');
  t.equal(redactUrl('http.target', '/admin/identities?subject=s'), '/admin/identities');
  t.equal(redactUrl('url.query', 'api-version=2025-06-30&objectId=o'), 'api-version=2025-06-30');
  t.equal(redactUrl('http.url', 'https://acs/identities?api-version=1'), 'https://acs/identities?api-version=1');
});

t.test('attributes are redacted by their key whatever its case, also after many distinct keys', async (t) => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new RedactingSpanProcessor(), new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('test');
  const secrets = {
    'http.request.header.Authorization': 'x', 'HTTP.REQUEST.HEADER.COOKIE': 'y', 'teams-user-aad-token': ['z'], 'db.Password': 7,
    'url.full': 'http://h/api/token?scopes=chat&hint=alice', note: 'Bearer abc',
  };
  const checkSecrets = (span: ReadableSpan) => {
    for (const key of ['http.request.header.Authorization', 'HTTP.REQUEST.HEADER.COOKIE', 'teams-user-aad-token', 'db.Password']) t.equal(span.attributes[key], REDACTED, key);
    t.equal(span.attributes['url.full'], 'http://h/api/token?scopes=chat');
    t.equal(span.attributes.note, 'Bearer [redacted]');
  };
  tracer.startSpan('first', { attributes: secrets }).end();
  // Keys made from data: more than the classifications kept, then the same secrets again.
  for (let i = 0; i < 600; i++) tracer.startSpan('flood', { attributes: { [`data.${i}`]: 'v', [`data.${i}.cookie`]: 'c' } }).end();
  tracer.startSpan('after', { attributes: secrets }).end();
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  t.equal(spans.length, 602);
  checkSecrets(spans[0]!);
  checkSecrets(spans.at(-1)!);
  t.ok(spans.slice(1, -1).every((span) => Object.keys(span.attributes).length === 2 && Object.entries(span.attributes).every(([key, value]) => value === (key.endsWith('.cookie') ? REDACTED : 'v'))), 'a key made from data is judged like any other');
});

t.test("a PostgreSQL error's message is exported as its SQLSTATE code only", async (t) => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new RedactingSpanProcessor(), new SimpleSpanProcessor(exporter)] });
  const span = provider.getTracer('test').startSpan('pg.query:SELECT', { attributes: { 'db.system.name': 'postgresql', 'error.type': '22P02' } });
  span.setStatus({ code: 2, message: 'invalid input syntax for type uuid: "alice@example.com"' });
  span.end();
  // pg's instrumentation records the code in its (sanitized) exception event, not always as error.type.
  const recorded = provider.getTracer('test').startSpan('pg.query:INSERT', { attributes: { 'db.system.name': 'postgresql' } });
  recorded.recordException("PostgreSQL error of type 'error' occurred (code: 23505)");
  recorded.setStatus({ code: 2, message: 'duplicate key value violates unique constraint "x" for alice@example.com' });
  recorded.end();
  const other = provider.getTracer('test').startSpan('identity create');
  other.setStatus({ code: 2, message: 'ACS answered 503' });
  other.end();
  await provider.forceFlush();
  const [pg, pgRecorded, own] = exporter.getFinishedSpans();
  t.equal(pg!.status.message, 'PostgreSQL error (code: 22P02)');
  t.equal(pgRecorded!.status.message, 'PostgreSQL error (code: 23505)');
  t.equal(own!.status.message, 'ACS answered 503', "other spans' messages are only redacted");
});
