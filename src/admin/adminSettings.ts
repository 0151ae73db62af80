// The admin API: the app role an operator's application must be granted, its rate limit, and
// how long erasure receipts are kept.
import { Type, type Static } from 'typebox';

export interface AdminSettings {
  /** The app role (in an app-only token's `roles`) that opens the admin API. */
  appRole: string;
  /** Requests per rate-limit window (RATE_LIMIT_WINDOW_SECONDS) from one operator application. */
  rateLimitMax: number;
  /** Confirmed erasure receipts are deleted this many days after they were requested. */
  receiptRetentionDays: number;
}

export const adminSettingsSchema = Type.Object({
  ADMIN_APP_ROLE: Type.String({ pattern: '^[^\\s,]+$', default: 'Identities.Admin' }),
  ADMIN_RATE_LIMIT_MAX: Type.Integer({ minimum: 1, maximum: 1000000, default: 60 }),
  ADMIN_RECEIPT_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 365 }),
});

export function adminSettings(raw: Static<typeof adminSettingsSchema>): AdminSettings {
  return Object.freeze({
    appRole: raw.ADMIN_APP_ROLE,
    rateLimitMax: raw.ADMIN_RATE_LIMIT_MAX,
    receiptRetentionDays: raw.ADMIN_RECEIPT_RETENTION_DAYS,
  });
}
