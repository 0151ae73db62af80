// What the service's own code asks of telemetry: spans around its own steps, and its Prometheus
// registry offered to the metrics exporter. This file imports no OpenTelemetry package: the
// telemetry SDK (telemetrySdk.ts), when the bootstrap starts it, puts its implementation on a
// process-wide slot; without it every call here is a plain call of the function given. The slot
// is process-wide so that the bundled server and the unbundled SDK meet on the same one.
import type { Registry } from 'prom-client';

export type SpanAttributes = Record<string, string | number | boolean>;

/** The span of one step, as the service's code sees it. */
export interface StepSpan {
  setAttributes(attributes: SpanAttributes): void;
}

/** `startsTrace`: the step may be a trace's first span (a background job's); others are made only within a traced request. */
export interface SpanOptions {
  startsTrace?: boolean;
}

export interface TelemetryHooks {
  inSpan<T>(name: string, attributes: SpanAttributes, work: (span: StepSpan) => Promise<T>, options?: SpanOptions): Promise<T>;
  observeRegistry(registry: Registry): void;
}

const SLOT = Symbol.for('acs-token-service.telemetry');
/** The span handed to a step that no span records. */
export const NO_SPAN: StepSpan = { setAttributes() {} };

const installed = (): TelemetryHooks | undefined => (globalThis as { [SLOT]?: TelemetryHooks })[SLOT];

export function installTelemetryHooks(hooks: TelemetryHooks): void {
  (globalThis as { [SLOT]?: TelemetryHooks })[SLOT] = hooks;
}

/** Runs `work` in a span of its own (a child of the active one) when tracing is on. */
export function inSpan<T>(name: string, attributes: SpanAttributes, work: (span: StepSpan) => Promise<T>, options: SpanOptions = {}): Promise<T> {
  const hooks = installed();
  return hooks ? hooks.inSpan(name, attributes, work, options) : work(NO_SPAN);
}

/** Offers the app's Prometheus registry to the OTLP metrics exporter, when one runs. */
export function observeRegistry(registry: Registry): void {
  installed()?.observeRegistry(registry);
}
