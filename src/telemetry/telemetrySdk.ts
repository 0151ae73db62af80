// OpenTelemetry, started by the bootstrap when an exporter is configured: traces (server spans
// by @fastify/otel, a span per PostgreSQL statement, one per outbound HTTP call to ACS and
// Entra ID, the service's own steps) and metrics, to OTLP or to Azure Monitor, by the standard
// variables. Loaded only then: without it, the service loads no OpenTelemetry package.
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { fastifyInstrumentation, onEveryFastify } from './fastifySpans.js';
import { installTelemetryHooks } from './hooks.js';
import { PrometheusBridge } from './prometheusBridge.js';
import { RedactingSpanProcessor } from './redaction.js';
import { requestSampling, samplingRatio, serviceSampler, TelemetrySettingError } from './sampling.js';
import { checkTelemetrySettings } from './settings.js';
import { clientInstrumentations, loadInstrumentedModules, serviceResource, stepSpans } from './serviceTracing.js';
import type { TelemetryChoice } from './telemetrySwitch.js';

type Env = Record<string, string | undefined>;

const DEFAULT_METRIC_INTERVAL_MS = 60_000;

function protocolOf(env: Env, signal: 'TRACES' | 'METRICS'): 'http/json' | 'http/protobuf' {
  const protocol = (env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`] ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim() || 'http/protobuf';
  if (protocol === 'http/json' || protocol === 'http/protobuf') return protocol;
  throw new TelemetrySettingError(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: use http/protobuf (the default) or http/json.`);
}

async function traceExporter(env: Env): Promise<SpanExporter> {
  if (protocolOf(env, 'TRACES') === 'http/json') return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}

async function metricExporter(env: Env): Promise<PushMetricExporter> {
  if (protocolOf(env, 'METRICS') === 'http/json') return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter();
  return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter();
}

async function startOtlp(choice: TelemetryChoice, env: Env): Promise<void> {
  checkTelemetrySettings(env);
  const resource = serviceResource();
  const bridge = new PrometheusBridge();
  const flushes: (() => Promise<void>)[] = [];
  let meterProvider: MeterProvider | undefined;
  if (choice.metrics) {
    const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL?.trim() || DEFAULT_METRIC_INTERVAL_MS);
    const reader = new PeriodicExportingMetricReader({ exporter: await metricExporter(env), exportIntervalMillis: interval, metricProducers: [bridge] });
    meterProvider = new MeterProvider({ resource, readers: [reader] });
    flushes.push(() => meterProvider!.forceFlush());
  }
  if (choice.traces) {
    const ratio = samplingRatio(env);
    const provider = new NodeTracerProvider({
      resource,
      sampler: serviceSampler(ratio),
      // Redaction first: the exporting processor then holds the rewritten span.
      spanProcessors: [new RedactingSpanProcessor(), new BatchSpanProcessor(await traceExporter(env))],
    });
    provider.register();
    flushes.push(() => provider.forceFlush());
    registerInstrumentations({ tracerProvider: provider, meterProvider, instrumentations: [...clientInstrumentations(), fastifyInstrumentation(requestSampling(ratio))] });
    loadInstrumentedModules();
  }
  onEveryFastify(async () => { await Promise.all(flushes.map((flush) => flush())); });
  installTelemetryHooks({ inSpan: stepSpans(), observeRegistry: (registry) => bridge.observe(registry) });
}

export async function startTelemetry(choice: TelemetryChoice, env: Env): Promise<void> {
  try {
    if (choice.azureMonitor) await (await import('./azureMonitor.js')).startAzureMonitor(env);
    else await startOtlp(choice, env);
  } catch (error) {
    if (!(error instanceof TelemetrySettingError)) throw error;
    process.stderr.write(`${error.message}\n\nSee .env.example for every variable and its meaning.\n`);
    process.exit(1);
  }
}
