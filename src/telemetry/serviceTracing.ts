// What both exporters' setups share: the service's resource, the instrumentations of pg and
// node:http and their loading, and the service's own spans.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { NO_SPAN, type TelemetryHooks } from './hooks.js';

const DEFAULT_SERVICE_NAME = 'acs-token-service';

export function serviceResource(): Resource {
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, win over the default name.
  return resourceFromAttributes({ 'service.name': DEFAULT_SERVICE_NAME }).merge(detectResources({ detectors: [envDetector] }));
}

/** The instrumentations of pg and node:http, which must see those modules as they load. */
export function clientInstrumentations(): Instrumentation[] {
  return [
    // Only within a request or a step of ours: the pool's own checks and timers make no traces.
    new PgInstrumentation({ requireParentSpan: true }),
    // Incoming requests are @fastify/otel's; outbound calls (ACS, Entra ID) are spans here.
    new HttpInstrumentation({ disableIncomingRequestInstrumentation: true, requireParentforOutgoingSpans: true }),
  ];
}

/**
 * Loads pg and node:http now that their instrumentation is registered, so that the server's
 * later imports find them patched (pg is kept out of the server's bundle for this), and makes
 * ES modules' named imports of node:http see the patched functions.
 */
export function loadInstrumentedModules(): void {
  const require = createRequire(import.meta.url);
  for (const name of ['pg', 'pg-pool', 'node:http', 'node:https']) require(name);
  syncBuiltinESMExports();
}

/**
 * The service's own spans, through the global tracer provider (a no-op one without tracing).
 * Outside a traced request (one not sampled has no span) only a step that starts traces makes one.
 */
export function stepSpans(): TelemetryHooks['inSpan'] {
  const tracer = trace.getTracer(DEFAULT_SERVICE_NAME);
  return (name, attributes, work, { startsTrace = false } = {}) => {
    if (!startsTrace && !trace.getActiveSpan()) return work(NO_SPAN);
    return tracer.startActiveSpan(name, { attributes }, async (span) => {
      try {
        return await work(span);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute('error.type', error instanceof Error ? error.name : 'error');
        throw error;
      } finally {
        span.end();
      }
    });
  };
}
