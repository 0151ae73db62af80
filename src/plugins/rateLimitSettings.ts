// Rate limits: per client IP and per user in a window, the separate budget of ACS calls per
// user, and the Redis that replicas may share them in.
import { Type, type Static } from 'typebox';

export interface RateLimitSettings {
  windowSeconds: number;
  /** Requests per window from one client IP, before authentication (all /api routes). */
  ipMax: number;
  /** Requests per window from one user, after authentication. */
  userMax: number;
  /** ACS calls (create, issue, revoke, delete, Teams exchange) per minute from one user, apart from userMax. */
  acsCallsPerUserPerMinute: number;
  redisUrl: string | undefined;
  redisPrefix: string;
}

export const rateLimitSettingsSchema = Type.Object({
  RATE_LIMIT_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),
  RATE_LIMIT_IP_MAX: Type.Integer({ minimum: 1, maximum: 1000000, default: 600 }),
  RATE_LIMIT_USER_MAX: Type.Integer({ minimum: 1, maximum: 1000000, default: 120 }),
  ACS_CALLS_PER_USER_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 100000, default: 10 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  RATE_LIMIT_REDIS_PREFIX: Type.String({ minLength: 1, default: 'acs-token-service-rl:' }),
});

export function rateLimitSettings(raw: Static<typeof rateLimitSettingsSchema>): RateLimitSettings {
  return Object.freeze({
    windowSeconds: raw.RATE_LIMIT_WINDOW_SECONDS,
    ipMax: raw.RATE_LIMIT_IP_MAX,
    userMax: raw.RATE_LIMIT_USER_MAX,
    acsCallsPerUserPerMinute: raw.ACS_CALLS_PER_USER_PER_MINUTE,
    redisUrl: raw.REDIS_URL,
    redisPrefix: raw.RATE_LIMIT_REDIS_PREFIX,
  });
}
