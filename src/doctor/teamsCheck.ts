// Teams: what on-behalf-of mode needs in each allowed tenant — the service principal of Azure
// Communication Services, and an administrator's consent for this API to its Teams permissions —
// can only be read by the operator, signed in (`--teams-sign-in`), never with the service's secret.
import type * as Graph from '@microsoft/microsoft-graph-types';
import { TEAMS_TOKEN_SCOPES } from '../acs/acsScopes.js';
import type { AuthConfig } from '../auth/authSettings.js';
import { ACS_APP_ID, ACS_SP_FIX, findServicePrincipal } from '../setup/acsServicePrincipal.js';
import { filterEq, GraphRequestError, graphClient } from '../setup/graphClient.js';
import { operatorCredential, type OperatorSignIn } from '../setup/operatorSignIn.js';
import { fail, invalidSettingsCheck, pass, skip, type Check, type Outcome } from './checklist.js';

export const TEAMS_SIGN_IN_FLAG = '--teams-sign-in';
// Long enough for the operator to enter a device code in a browser.
const SIGN_IN_TIMEOUT_MS = 5 * 60_000;

async function tenantOutcome(auth: AuthConfig, signIn: () => OperatorSignIn, tenant: string, prompt: (message: string) => void): Promise<Outcome> {
  const operator = signIn();
  const graph = graphClient(operator.graphBaseUrl, operatorCredential(operator, tenant, prompt));
  const consentUrl = `${auth.authorityHost}/${tenant}/adminconsent?client_id=${auth.clientId}`;
  const consentFix = `an administrator of tenant ${tenant} grants consent at ${consentUrl}`;
  try {
    const acs = await findServicePrincipal(graph, ACS_APP_ID);
    if (!acs) return fail(`tenant ${tenant}: no service principal of Azure Communication Services (${ACS_APP_ID}), so Teams users of this tenant get no ACS token`, `${ACS_SP_FIX} (signed in to tenant ${tenant}), then grant consent at ${consentUrl}`);
    const api = await findServicePrincipal(graph, auth.clientId);
    if (!api) return fail(`tenant ${tenant}: this API's app (${auth.clientId}) has no service principal there: nobody has consented to it`, consentFix);
    const grants = await graph.list<Graph.OAuth2PermissionGrant>(`/oauth2PermissionGrants?${filterEq('clientId', api.id!)}`);
    const granted = new Set(grants
      .filter((grant) => grant.resourceId === acs.id && grant.consentType === 'AllPrincipals')
      .flatMap((grant) => (grant.scope ?? '').split(' ')));
    const missing = TEAMS_TOKEN_SCOPES.filter((scope) => !granted.has(scope));
    if (missing.length > 0) return fail(`tenant ${tenant}: no admin consent for this API to ${missing.join(' and ')} of Azure Communication Services (on-behalf-of answers 403 teams_consent_required)`, consentFix);
    return pass(`tenant ${tenant}: Azure Communication Services' service principal present, admin consent to ${TEAMS_TOKEN_SCOPES.join(' and ')} granted`);
  } catch (error) {
    if (!(error instanceof GraphRequestError)) throw error;
    const fix = error.status === 403
      ? `sign in as an account of tenant ${tenant} that may read its applications and consent (e.g. Global Reader or Cloud Application Administrator)`
      : `check GRAPH_BASE_URL and the sign-in to tenant ${tenant}`;
    return fail(`tenant ${tenant}: ${error.message}`, fix);
  }
}

/**
 * With `signIn`, a check per allowed tenant through Graph; without, a line that names the flag.
 * `signIn` reads its settings when a check runs, so that a bad one fails that check, not the doctor.
 */
export function teamsChecks(auth: AuthConfig | undefined, invalid: readonly string[], signIn: (() => OperatorSignIn) | undefined, prompt: (message: string) => void = () => undefined): Check[] {
  // Invalid auth settings (AZURE_CLIENT_SECRET given twice, a bad tenant) say nothing about whether Teams is on.
  if (!auth) return [invalidSettingsCheck('Teams', invalid)];
  if (!auth.clientSecret) return [{ group: 'Teams', timeoutMs: 1, timeoutFix: '', run: async () => skip('not checked: Teams is off (no AZURE_CLIENT_SECRET)') }];
  if (!signIn) {
    const text = `not checked: the ACS service principal in the tenant and consent need the operator's own sign-in: run npm run doctor -- ${TEAMS_SIGN_IN_FLAG} to check them (see docs/teams.md)`;
    return [{ group: 'Teams', timeoutMs: 1, timeoutFix: '', run: async () => skip(text) }];
  }
  return auth.allowedTenants.map((tenant) => ({
    group: 'Teams',
    timeoutMs: SIGN_IN_TIMEOUT_MS,
    timeoutFix: `sign in to tenant ${tenant} within ${SIGN_IN_TIMEOUT_MS / 60_000} minutes (or with --use-azure-cli after az login), with AZURE_AUTHORITY_HOST an https:// URL`,
    run: () => tenantOutcome(auth, signIn, tenant, prompt),
  }));
}
