// Which traces are kept. An incoming traceparent is continued (same trace id, its span as the
// parent), but its sampled flag decides nothing: a client could otherwise make every one of its
// requests traced and exported. Every trace that starts here or arrives from outside is kept by
// the same rule, TraceIdRatioBased with OTEL_TRACES_SAMPLER_ARG (a ratio, 1 when unset); spans
// whose parent is in this process follow their parent.
import { AlwaysOffSampler, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace-base';

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

export function serviceSampler(ratio: number): Sampler {
  const byRatio = ratio === 0 ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(ratio);
  return new ParentBasedSampler({ root: byRatio, remoteParentSampled: byRatio, remoteParentNotSampled: byRatio });
}
