// Azure Monitor (Application Insights) when APPLICATIONINSIGHTS_CONNECTION_STRING is set, by
// Microsoft's distribution, loaded only then. Its own pg, HTTP and Azure SDK instrumentations
// are used, with the same redaction, the same ratio of traces kept, and @fastify/otel's server
// spans. The Prometheus series stay on /metrics; Azure Monitor gets the distribution's own
// standard metrics.
import { useAzureMonitor } from '@azure/monitor-opentelemetry';
import { metrics, trace } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
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

export function startAzureMonitor(env: Env): Promise<void> {
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString: env.APPLICATIONINSIGHTS_CONNECTION_STRING },
    resource: serviceResource(),
    // A fixed ratio of trace ids, as with OTLP, rather than a rate.
    samplingRatio: samplingRatio(env),
    tracesPerSecond: 0,
    spanProcessors: [new RedactingSpanProcessor()],
    instrumentationOptions: { http: { enabled: true }, postgreSql: { enabled: true }, azureSdk: { enabled: true } },
  });
  registerInstrumentations({ instrumentations: [fastifyInstrumentation()] });
  loadInstrumentedModules();
  onEveryFastify(flushGlobalProviders);
  installTelemetryHooks({ inSpan: stepSpans(), observeRegistry: () => {} });
  return Promise.resolve();
}
