// The standard variables whose bad values the SDK would crash on or silently replace: refused at
// the start, by name, like the sampler's (the bootstrap reports them and exits).
import { TelemetrySettingError } from './sampling.js';

type Env = Record<string, string | undefined>;

const POSITIVE_MS = ['OTEL_METRIC_EXPORT_INTERVAL'];
const NON_NEGATIVE_MS = [
  'OTEL_METRIC_EXPORT_TIMEOUT', 'OTEL_BSP_SCHEDULE_DELAY', 'OTEL_BSP_EXPORT_TIMEOUT',
  'OTEL_EXPORTER_OTLP_TIMEOUT', 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT',
];
const ENDPOINTS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'];

function httpUrl(text: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

export function checkTelemetrySettings(env: Env): void {
  for (const name of [...POSITIVE_MS, ...NON_NEGATIVE_MS]) {
    const text = env[name]?.trim();
    if (!text) continue;
    const positive = POSITIVE_MS.includes(name);
    if (!/^\d+$/.test(text) || (positive && Number(text) === 0)) {
      throw new TelemetrySettingError(`${name} must be a whole number of milliseconds${positive ? ' above 0' : ', 0 or more'}, not ${text}.`);
    }
  }
  for (const name of ENDPOINTS) {
    const text = env[name]?.trim();
    if (text && !httpUrl(text)) throw new TelemetrySettingError(`${name} must be an http:// or https:// URL, not ${text}.`);
  }
}
