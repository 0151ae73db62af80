// The configuration as the service uses it: one frozen object made of the modules' sections.
import type { AcsConfig } from '../acs/acsSettings.js';
import type { AdminSettings } from '../admin/adminSettings.js';
import type { AdminPacingSettings } from '../admin/adminPacing.js';
import type { AuditSettings } from '../audit/auditSettings.js';
import type { AuthConfig } from '../auth/authSettings.js';
import type { DatabaseSettings } from '../db/databaseSettings.js';
import type { HttpServerLimits } from '../httpServerLimits.js';
import type { DeletionSettings } from '../identities/deletionSettings.js';
import type { MetricsSettings } from '../plugins/metricsSettings.js';
import type { OverloadSettings } from '../plugins/overloadSettings.js';
import type { PageSettings } from '../plugins/pageSettings.js';
import type { RateLimitSettings } from '../plugins/rateLimitSettings.js';
import type { TrustProxySetting } from '../trustProxy.js';
import type { ServerSettings } from './serverSettings.js';

export interface Config extends ServerSettings, DatabaseSettings, PageSettings {
  /** Limits of the HTTP server: how many connections, and how long a client may take. */
  http: HttpServerLimits;
  deletions: DeletionSettings;
  /** Administrators' work (deletions, offboardings): its pace of ACS calls. */
  adminPacing: AdminPacingSettings;
  acs: AcsConfig;
  auth: AuthConfig;
  /** The admin API: its app role, rate limit and erasure receipts' retention. */
  admin: AdminSettings;
  audit: AuditSettings;
  rateLimits: RateLimitSettings;
  /**
   * Which connections may name the client in X-Forwarded-For (TRUST_PROXY): none, those of the
   * proxies at these addresses/CIDR ranges, or any, through this many proxy hops.
   */
  trustProxy: TrustProxySetting;
  metrics: MetricsSettings;
  /** When the replica sheds load (503 `overloaded`): how far behind its event loop may fall. */
  overload: OverloadSettings;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}
