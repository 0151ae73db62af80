// Who may call the admin API (docs/security.md#app-only-tokens): an operator's application, with a
// token it obtained for itself (client credentials) from an allowed Entra ID tenant for this
// API, granted this API's admin app role. A user's token is refused here whatever it claims
// (a `roles` claim included): an operator acts as an application, so that what it did is
// recorded under that application's id.
import { appOnlyMarker } from '../auth/appOnlyTokens.js';
import { AuthError } from '../auth/authError.js';
import { HttpProblem } from '../http/httpProblem.js';
import { ADMIN_PROBLEMS, type ProblemCode } from '../http/problemCodes.js';
import { LOWER_CASE_GUID } from '../shared/guid.js';

/** An operator's application, as its verified app-only token names it. */
export interface AdminCaller {
  readonly kind: 'admin';
  /** Its Entra tenant (`tid`). */
  readonly tenantId: string;
  /** Its client id (`azp`, or `appid` in v1 tokens): what erasure receipts record as who asked. */
  readonly appId: string;
  /** What its rate limit and log lines are keyed by. */
  readonly userKey: string;
}

/** A 403 of the admin API, with its RFC 6750 challenge. */
function forbidden({ status, code, detail }: ProblemCode, challenge: string): HttpProblem {
  return new HttpProblem(status, code, detail, { headers: { 'www-authenticate': `Bearer error="insufficient_scope", error_description="${challenge}"` } });
}

/** What an admin token must be: of this tenant (the API's home tenant), with this app role. */
export interface AdminRules {
  tenantId: string | undefined;
  role: string;
}

/**
 * The admin caller of a verified token, or the refusal: a token of another issuer than Entra ID,
 * or of another tenant than the home tenant, is invalid here (401); a user's token, or an
 * application's without the role, is forbidden (403). `fromEntra`: whether the token's issuer is
 * one of the allowed Entra ID tenants.
 */
export function adminCallerOf(payload: Record<string, unknown>, fromEntra: boolean, { tenantId: homeTenant, role }: AdminRules): AdminCaller {
  if (!fromEntra) throw AuthError.invalidToken('The admin API accepts only Microsoft Entra ID tokens.');
  // An allowed tenant's administrator can grant this API's app roles in their own tenant.
  if (payload.tid !== homeTenant) throw AuthError.invalidToken('The admin API accepts only tokens of the API\'s home tenant (ADMIN_TENANT_ID).');
  // A user's token: `scp` (delegated) is never in an app-only token, and the markers of
  // appOnlyTokens.ts (idtyp=app, sub = the app's oid) say an application obtained it.
  if (payload.scp !== undefined || appOnlyMarker(payload) === undefined) throw forbidden(ADMIN_PROBLEMS.appTokenRequired(role), 'An application\'s own token is required.');
  const roles = Array.isArray(payload.roles) ? payload.roles : [];
  if (!roles.includes(role)) throw forbidden(ADMIN_PROBLEMS.roleRequired(role), `The app role ${role} is required.`);
  const appId = typeof payload.azp === 'string' ? payload.azp : payload.appid;
  if (typeof appId !== 'string' || !LOWER_CASE_GUID.test(appId)) throw AuthError.invalidToken('The token has no valid "azp" (or "appid") claim.');
  const tenantId = payload.tid as string;
  return { kind: 'admin', tenantId, appId, userKey: `admin:${tenantId}/${appId}` };
}
