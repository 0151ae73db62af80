// The admin API: the tenant and app role of operators' applications, their rate limit, and
// how long erasure receipts are kept.
import { Type, type Static } from 'typebox';
import { GUID_PATTERN } from '../shared/guid.js';

export interface AdminSettings {
  /**
   * The only tenant whose applications' tokens the admin API takes (lower case): the API's home
   * tenant. Undefined: none was named, and the admin API refuses every token.
   */
  tenantId: string | undefined;
  /** The app role (in an app-only token's `roles`) that opens the admin API. */
  appRole: string;
  /** Requests per rate-limit window (RATE_LIMIT_WINDOW_SECONDS) from one operator application. */
  rateLimitMax: number;
  /** Confirmed erasure receipts are deleted this many days after they were requested. */
  receiptRetentionDays: number;
}

export const adminSettingsSchema = Type.Object({
  ADMIN_TENANT_ID: Type.Optional(Type.String({ pattern: GUID_PATTERN })),
  ADMIN_APP_ROLE: Type.String({ pattern: '^[^\\s,]+$', default: 'Identities.Admin' }),
  ADMIN_RATE_LIMIT_MAX: Type.Integer({ minimum: 1, maximum: 1000000, default: 60 }),
  ADMIN_RECEIPT_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 365 }),
});

/**
 * The admin section. Another allowed tenant's administrator can grant app roles of this API to
 * applications of their own tenant: only the home tenant's grants count (ADMIN_TENANT_ID, else
 * AZURE_TENANT_ID, else the one allowed tenant).
 */
export function adminSettings(raw: Static<typeof adminSettingsSchema> & { AZURE_TENANT_ID?: string }, allowedTenants: string[]): AdminSettings {
  const tenantId = raw.ADMIN_TENANT_ID ?? raw.AZURE_TENANT_ID ?? (allowedTenants.length === 1 ? allowedTenants[0] : undefined);
  return Object.freeze({
    tenantId: tenantId?.toLowerCase(),
    appRole: raw.ADMIN_APP_ROLE,
    rateLimitMax: raw.ADMIN_RATE_LIMIT_MAX,
    receiptRetentionDays: raw.ADMIN_RECEIPT_RETENTION_DAYS,
  });
}
