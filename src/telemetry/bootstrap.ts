// The process's first module (`node --import ./dist/src/telemetry/bootstrap.js dist/src/server.js`):
// starts OpenTelemetry before the server loads pg and node:http, so that their instrumentation
// sees them. Without an exporter configured it loads nothing else and does nothing.
import { existsSync } from 'node:fs';
import { telemetryChoice } from './telemetrySwitch.js';

// The server reads ./.env too; the telemetry variables may be there.
if (existsSync('.env')) process.loadEnvFile('.env');
const choice = telemetryChoice(process.env);
if (choice.traces || choice.metrics || choice.azureMonitor) {
  const { startTelemetry } = await import('./telemetrySdk.js');
  await startTelemetry(choice, process.env);
}
