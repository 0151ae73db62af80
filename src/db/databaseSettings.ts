// The database: where it is, how many connections and how long a query may take, and who
// migrates it.
import { Type, type Static } from 'typebox';
import { ROLE_NAME_PATTERN } from './serviceRole.js';

export interface DatabaseSettings {
  databaseUrl: string;
  databasePoolMax: number;
  databaseTimeoutMs: number;
  /** The database is one session behind a socket (local mode's PGlite): see createPool. */
  databaseSingleSession: boolean;
  migrateOnStart: boolean;
  /** The service's own database role, granted its rights whenever migrations run (serviceRole.ts). */
  databaseServiceRole: string | undefined;
}

export const databaseSettingsSchema = Type.Object({
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  DATABASE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  MIGRATE_ON_START: Type.Boolean({ default: false }),
  DATABASE_SERVICE_ROLE: Type.Optional(Type.String({ pattern: ROLE_NAME_PATTERN })),
});

export function databaseSettings(raw: Static<typeof databaseSettingsSchema>): DatabaseSettings {
  return {
    databaseUrl: raw.DATABASE_URL,
    databasePoolMax: raw.DATABASE_POOL_MAX,
    databaseTimeoutMs: raw.DATABASE_TIMEOUT_MS,
    databaseSingleSession: false,
    migrateOnStart: raw.MIGRATE_ON_START,
    databaseServiceRole: raw.DATABASE_SERVICE_ROLE || undefined,
  };
}
