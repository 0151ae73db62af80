// The audit trail: the key that stands for users in it, how long rows are kept, how often
// batches are written.
import { randomBytes } from 'node:crypto';
import { Type, type Static } from 'typebox';

export interface AuditSettings {
  /** Key of the HMAC that stands for a user in the audit trail and logs. */
  hashKey: string;
  retentionDays: number;
  flushIntervalMs: number;
}

export const auditSettingsSchema = Type.Object({
  AUDIT_HASH_KEY: Type.Optional(Type.String({ minLength: 16 })),
  AUDIT_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 90 }),
  AUDIT_FLUSH_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60000, default: 1000 }),
});

/** The audit section; each problem goes to `problems`. */
export function auditSettings(raw: Static<typeof auditSettingsSchema>, production: boolean, problems: string[]): AuditSettings {
  if (production && !raw.AUDIT_HASH_KEY) problems.push('AUDIT_HASH_KEY is required in production (it keeps users\' audit hashes stable across restarts and replicas)');
  return Object.freeze({
    // Without a configured key, hashes are stable only for this process's life (said at start).
    hashKey: raw.AUDIT_HASH_KEY ?? randomBytes(32).toString('base64'),
    retentionDays: raw.AUDIT_RETENTION_DAYS,
    flushIntervalMs: raw.AUDIT_FLUSH_INTERVAL_MS,
  });
}
