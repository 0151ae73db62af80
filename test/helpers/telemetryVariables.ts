// Settings read by the service's OpenTelemetry bootstrap (OpenTelemetry's standard variables,
// and Azure Monitor's connection string) rather than by its configuration: the deployment files
// may set them beside CONFIG_VARIABLES.
export const TELEMETRY_VARIABLES = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_SERVICE_NAME',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
];
