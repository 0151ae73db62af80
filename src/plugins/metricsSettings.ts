// Where /metrics is served and what protects it.
import { Type, type Static } from 'typebox';

export interface MetricsSettings {
  /** Serve /metrics on this port instead of the API's (undefined: the API's). */
  port: number | undefined;
  host: string;
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  token: string | undefined;
}

export const metricsSettingsSchema = Type.Object({
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
});

/** The metrics section, on the API's `host`; each problem goes to `problems`. */
export function metricsSettings(raw: Static<typeof metricsSettingsSchema>, host: string, production: boolean, problems: string[]): MetricsSettings {
  if (production && raw.METRICS_TOKEN === undefined && raw.METRICS_PORT === undefined) {
    problems.push('In production, /metrics must not be public on the API port: set METRICS_PORT (a port of its own) or METRICS_TOKEN');
  }
  return Object.freeze({ port: raw.METRICS_PORT, host, token: raw.METRICS_TOKEN });
}
