// The scopes and lifetime of a requested ACS token: defaults from configuration, and checked
// against the allow-list before any call to ACS. (The contract already limits the syntax.)
import type { AcsConfig } from '../acs/acsSettings.js';
import type { AcsScope } from '../acs/acsScopes.js';
import { HttpProblem } from '../http/httpProblem.js';
import type { TokenRequest } from '../identities/identityService.js';

export function tokenRequest(query: { scopes?: string; expiresInMinutes?: number }, acs: AcsConfig): TokenRequest {
  const scopes = query.scopes === undefined ? acs.defaultScopes : [...new Set(query.scopes.split(','))] as AcsScope[];
  const refused = scopes.filter((scope) => !acs.allowedScopes.includes(scope));
  if (refused.length > 0) {
    const reason = `${refused.join(', ')} ${refused.length === 1 ? 'is' : 'are'} not allowed`;
    throw new HttpProblem(400, 'scope_not_allowed', `Scope ${reason}; allowed: ${acs.allowedScopes.join(', ')}.`, {
      errors: [{ in: 'query', name: 'scopes', reason }],
    });
  }
  return { scopes, expiresInMinutes: query.expiresInMinutes ?? acs.tokenTtlMinutes };
}
