// Log lines written while a trace span is active carry its ids (trace_id, span_id, trace_flags,
// as OpenTelemetry's log correlation names them), so a line and its trace find each other.
// Only @opentelemetry/api is used: without an SDK registered (no OTEL_* settings), the active
// span is always undefined, the lookup is a few property reads, and the line is left as it is.
import { isSpanContextValid, trace } from '@opentelemetry/api';

/** What the mixin answers when no span is active: recognised by the merge, which then does nothing. */
const NO_TRACE: Readonly<Record<string, never>> = Object.freeze({});

/** pino's `mixin`: the active span's ids, or NO_TRACE. */
export function activeSpanFields(): Record<string, unknown> {
  const span = trace.getActiveSpan();
  if (!span) return NO_TRACE;
  const context = span.spanContext();
  if (!isSpanContextValid(context)) return NO_TRACE;
  return { trace_id: context.traceId, span_id: context.spanId, trace_flags: context.traceFlags.toString(16).padStart(2, '0') };
}

/**
 * pino's `mixinMergeStrategy`. pino's own copies every field of every line into the mixin's
 * object; without a span the line is kept as it is, with one the line's fields come after the ids.
 */
export function mergeSpanFields(line: object, fields: object): object {
  return fields === NO_TRACE ? line : Object.assign(fields, line);
}
