// The process and its listener: port and address, log level, the probes' port, the pause on
// SIGTERM, and the browser origins allowed to call (CORS).
import { Type, type Static } from 'typebox';
import { splitList } from '../shared/commaList.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface ServerSettings {
  port: number;
  host: string;
  logLevel: string;
  /** Serve /healthz and /readyz on this port instead of the API's (undefined: the API's). */
  probePort: number | undefined;
  /** On SIGTERM, how long to keep serving with /readyz at 503 before closing. */
  shutdownDelayMs: number;
  /** Browser origins allowed to call the API (CORS); empty: none. */
  corsOrigins: string[];
}

export const serverSettingsSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  LOG_LEVEL: Type.Unsafe<(typeof LOG_LEVELS)[number]>({ type: 'string', enum: LOG_LEVELS, default: 'info' }),
  SHUTDOWN_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60000, default: 0 }),
  PROBE_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  CORS_ORIGINS: Type.Optional(Type.String()),
});

/** The process's own settings; each problem goes to `problems`. */
export function serverSettings(raw: Static<typeof serverSettingsSchema>, problems: string[]): ServerSettings {
  const corsOrigins = splitList(raw.CORS_ORIGINS);
  for (const origin of corsOrigins) {
    if (origin === '*' || !/^https?:\/\/[^/]+$/.test(origin)) problems.push(`CORS_ORIGINS entry "${origin}" must be an origin like https://app.example.com (no *, no path)`);
  }
  return {
    port: raw.PORT,
    host: raw.HOST,
    logLevel: raw.LOG_LEVEL,
    probePort: raw.PROBE_PORT,
    shutdownDelayMs: raw.SHUTDOWN_DELAY_MS,
    corsOrigins,
  };
}
