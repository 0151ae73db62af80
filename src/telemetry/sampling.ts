// Which traces are kept. An incoming traceparent is continued (same trace id, its span as the
// parent), but its sampled flag decides nothing: a client could otherwise make every one of its
// requests traced and exported. Every trace that starts here or arrives from outside is kept by
// the same rule, TraceIdRatioBased with OTEL_TRACES_SAMPLER_ARG (a ratio, 1 when unset); spans
// whose parent is in this process follow their parent.
// A request's decision is taken as it arrives (requestSampling), before any span exists: a request
// that is not kept then makes no span at all, so it pays nothing for tracing; the sampler
// (serviceSampler) keeps every request span, since only kept requests make one.
import { defaultTextMapGetter, ROOT_CONTEXT, SpanKind, trace, type Attributes, type Context } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOffSampler, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';

type Env = Record<string, string | undefined>;

/** Thrown for a sampler setting this service does not take; the bootstrap reports it and exits. */
export class TelemetrySettingError extends Error {}

/** The ratio of traces kept, from OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG. */
export function samplingRatio(env: Env): number {
  const sampler = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || 'parentbased_traceidratio';
  if (sampler === 'always_off') return 0;
  if (sampler === 'always_on' || sampler === 'parentbased_always_on') return 1;
  if (sampler !== 'traceidratio' && sampler !== 'parentbased_traceidratio') {
    throw new TelemetrySettingError(`OTEL_TRACES_SAMPLER=${sampler} is not supported: use traceidratio (or parentbased_traceidratio, the same here), always_on or always_off.`);
  }
  const argument = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (!argument) return 1;
  const ratio = Number(argument);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw new TelemetrySettingError(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, not ${argument}.`);
  return ratio;
}

/** The attribute @fastify/otel gives each request's span. */
export const REQUEST_SPAN_ATTRIBUTE = 'fastify.root';

const byRatio = (ratio: number): Sampler => (ratio === 0 ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(ratio));

/** Whether a request is traced, from its traceparent header: the rule above, by the caller's trace id when it sends one. */
export function requestSampling(ratio: number): (traceparent: string | undefined) => boolean {
  const sampler = byRatio(ratio);
  const traceContext = new W3CTraceContextPropagator();
  return (traceparent) => {
    // Read as @fastify/otel will read it: a header the propagator refuses starts a trace here, as none does.
    const traceId = traceparent === undefined ? undefined : trace.getSpanContext(traceContext.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter))?.traceId;
    if (traceId === undefined) return Math.random() < ratio;
    return sampler.shouldSample(ROOT_CONTEXT, traceId, 'request', SpanKind.SERVER, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED;
  };
}

class ServiceSampler implements Sampler {
  private readonly byParent: Sampler;

  constructor(private readonly ratio: number) {
    const sampler = byRatio(ratio);
    this.byParent = new ParentBasedSampler({ root: sampler, remoteParentSampled: sampler, remoteParentNotSampled: sampler });
  }

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes): SamplingResult {
    // A request span exists only for a request requestSampling kept.
    if (attributes[REQUEST_SPAN_ATTRIBUTE] !== undefined) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return this.byParent.shouldSample(context, traceId, name, kind, attributes, []);
  }

  toString(): string {
    return `ServiceSampler{ratio=${this.ratio}}`;
  }
}

export function serviceSampler(ratio: number): Sampler {
  return new ServiceSampler(ratio);
}
