// Azure Monitor (Application Insights) when APPLICATIONINSIGHTS_CONNECTION_STRING is set, by
// Microsoft's distribution, loaded only then. Its own pg, HTTP and Azure SDK instrumentations
// are used, with the same redaction, the same ratio of traces kept, and @fastify/otel's server
// spans. The Prometheus series stay on /metrics; Azure Monitor gets the distribution's own
// standard metrics.
import { useAzureMonitor } from '@azure/monitor-opentelemetry';
import { metrics, trace } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import type { HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http';
import type { PgInstrumentationConfig } from '@opentelemetry/instrumentation-pg';
import { fastifyInstrumentation, onEveryFastify } from './fastifySpans.js';
import { installTelemetryHooks } from './hooks.js';
import { RedactingSpanProcessor } from './redaction.js';
import { samplingRatio } from './sampling.js';
import { loadInstrumentedModules, serviceResource, stepSpans } from './serviceTracing.js';

type Env = Record<string, string | undefined>;

type Flushable = { forceFlush?(): Promise<void> };

/** Sends what the distribution's providers hold (they are the global ones). */
async function flushGlobalProviders(): Promise<void> {
  const tracerProvider = trace.getTracerProvider() as Flushable & { getDelegate?(): Flushable };
  await (tracerProvider.getDelegate?.() ?? tracerProvider).forceFlush?.();
  await (metrics.getMeterProvider() as Flushable).forceFlush?.();
}

// The distribution reads these itself and its sampler then wins over samplingRatio (a
// parent-based one would let a caller's sampled flag decide): it must not see them.
const SAMPLER_VARIABLES = ['OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'];

function withoutSamplerVariables(start: () => void): void {
  const saved = SAMPLER_VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const name of SAMPLER_VARIABLES) delete process.env[name];
  try {
    start();
  } finally {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  }
}

const HTTP_OPTIONS: HttpInstrumentationConfig = { enabled: true, disableIncomingRequestInstrumentation: true, requireParentforOutgoingSpans: true };
const PG_OPTIONS: PgInstrumentationConfig = { enabled: true, requireParentSpan: true };

export function startAzureMonitor(env: Env): Promise<void> {
  const ratio = samplingRatio(env);
  withoutSamplerVariables(() => useAzureMonitor({
    // No offline storage: the image's root filesystem is read-only, and what could not be sent
    // is dropped as with OTLP.
    azureMonitorExporterOptions: { connectionString: env.APPLICATIONINSIGHTS_CONNECTION_STRING, disableOfflineStorage: true },
    resource: serviceResource(),
    // A fixed ratio of trace ids (the caller's flag aside), as with OTLP, rather than a rate.
    samplingRatio: ratio,
    tracesPerSecond: 0,
    // Live Metrics' span processor runs before ours: it would send spans unredacted.
    enableLiveMetrics: false,
    spanProcessors: [new RedactingSpanProcessor()],
    // As with OTLP: incoming requests are @fastify/otel's (so probes and /metrics make no
    // request item, and each request one), pg and outbound calls only within a request or step.
    instrumentationOptions: {
      http: HTTP_OPTIONS,
      postgreSql: PG_OPTIONS,
      azureSdk: { enabled: true },
      mongoDb: { enabled: false },
      mySql: { enabled: false },
      redis: { enabled: false },
      redis4: { enabled: false },
    },
  }));
  registerInstrumentations({ instrumentations: [fastifyInstrumentation()] });
  loadInstrumentedModules();
  onEveryFastify(flushGlobalProviders);
  installTelemetryHooks({ inSpan: stepSpans(), observeRegistry: () => {} });
  return Promise.resolve();
}
