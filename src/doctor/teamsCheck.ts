// Teams: what the doctor would check there (the ACS service principal in the tenant, consent
// granted) needs the operator's own sign-in, not the service's; not done yet, and said so.
import type { AuthConfig } from '../auth/authSettings.js';
import { skip, type Check } from './checklist.js';

export function teamsChecks(auth: AuthConfig | undefined): Check[] {
  const text = auth?.clientSecret
    ? 'not checked: the ACS service principal in the tenant and consent need the operator\'s own sign-in, which the doctor does not do yet (see docs/troubleshooting.md, "A tenant without the ACS service principal")'
    : 'not checked: Teams is off (no AZURE_CLIENT_SECRET)';
  return [{ group: 'Teams', timeoutMs: 1, timeoutFix: '', run: async () => skip(text) }];
}
