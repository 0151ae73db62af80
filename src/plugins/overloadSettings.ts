// When a replica sheds load: the event loop's delay and utilisation it tolerates, and how often
// both are measured.
import { Type, type Static } from 'typebox';

export interface OverloadSettings {
  /** Shed while the event loop's mean delay over the last sample exceeds this (ms); 0: never. */
  maxEventLoopDelayMs: number;
  /** Shed while the event loop was busy more than this share of the last sample (0–1); 0: never. */
  maxEventLoopUtilization: number;
  /** How often both are measured (ms): shedding starts and stops at most this late. */
  sampleIntervalMs: number;
}

// The delay is measured with a 10 ms timer: a bound below it would shed on noise.
const MIN_EVENT_LOOP_DELAY_MS = 10;

export const overloadSettingsSchema = Type.Object({
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60000, default: 200 }),
  OVERLOAD_MAX_EVENT_LOOP_UTILIZATION: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0 }),
  OVERLOAD_SAMPLE_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60000, default: 1000 }),
});

/** The OVERLOAD_* settings; each problem goes to `problems`. */
export function overloadSettings(raw: Static<typeof overloadSettingsSchema>, problems: string[]): OverloadSettings {
  const delay = raw.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS;
  if (delay > 0 && delay < MIN_EVENT_LOOP_DELAY_MS) {
    problems.push(`OVERLOAD_MAX_EVENT_LOOP_DELAY_MS (${delay}) must be 0 (off) or at least ${MIN_EVENT_LOOP_DELAY_MS}: the delay is measured in steps of ${MIN_EVENT_LOOP_DELAY_MS} ms`);
  }
  return Object.freeze({
    maxEventLoopDelayMs: delay,
    maxEventLoopUtilization: raw.OVERLOAD_MAX_EVENT_LOOP_UTILIZATION,
    sampleIntervalMs: raw.OVERLOAD_SAMPLE_INTERVAL_MS,
  });
}
