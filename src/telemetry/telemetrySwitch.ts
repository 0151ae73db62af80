// Which telemetry the standard variables ask for. Read by the bootstrap before anything else
// loads: no import here, so that a service without telemetry loads nothing more than this.

export interface TelemetryChoice {
  /** OTLP traces: OTEL_TRACES_EXPORTER=otlp, or unset with an OTLP endpoint. */
  traces: boolean;
  /** OTLP metrics: the same rule with OTEL_METRICS_EXPORTER. */
  metrics: boolean;
  /** Azure Monitor (Application Insights), which then takes the place of OTLP. */
  azureMonitor: boolean;
}

type Env = Record<string, string | undefined>;

const set = (value: string | undefined) => value !== undefined && value.trim() !== '';

function otlpWanted(env: Env, exporterVariable: string, signalEndpoint: string): boolean {
  const exporters = env[exporterVariable];
  // The specification's default exporter is otlp; without any endpoint it would send to
  // localhost, which a service that was not asked to export must not do.
  if (set(exporters)) return exporters!.split(',').map((name) => name.trim()).includes('otlp');
  return set(env.OTEL_EXPORTER_OTLP_ENDPOINT) || set(env[signalEndpoint]);
}

export function telemetryChoice(env: Env): TelemetryChoice {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { traces: false, metrics: false, azureMonitor: false };
  const azureMonitor = set(env.APPLICATIONINSIGHTS_CONNECTION_STRING);
  return {
    traces: !azureMonitor && otlpWanted(env, 'OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'),
    metrics: !azureMonitor && otlpWanted(env, 'OTEL_METRICS_EXPORTER', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'),
    azureMonitor,
  };
}
