// The doctor's Entra checks: for every tenant the service trusts (and every AUTH_ISSUERS
// issuer), its OpenID discovery document and key set are read by the service's own key-set
// reader, which refuses a set without a usable signing key.
import type { AuthConfig } from '../auth/authSettings.js';
import { EntraIssuer } from '../auth/entraIssuer.js';
import { IdentityProviderHttp } from '../auth/identityProviderHttp.js';
import { OidcIssuer } from '../auth/oidcIssuer.js';
import { SigningKeys, type KeySetSource } from '../auth/signingKeys.js';
import { describeError, fail, invalidSettingsCheck, pass, type Check } from './checklist.js';

/** One request to the identity provider (the discovery document, then the key set). */
const REQUEST_TIMEOUT_MS = 10_000;

function keySetCheck(auth: AuthConfig, name: string, source: KeySetSource, fix: string): Check {
  return {
    group: 'Entra',
    timeoutMs: 2 * REQUEST_TIMEOUT_MS + 1000,
    timeoutFix: fix,
    async run() {
      const http = new IdentityProviderHttp({ ca: auth.authorityCa, timeoutMs: REQUEST_TIMEOUT_MS });
      const keys = new SigningKeys([source], auth.unknownKeyRefreshCooldownSeconds, http);
      try {
        await keys.load();
        return pass(`${name}: discovery document and key set read, with a usable signing key (${source.discoveryUrl ?? source.jwksUri})`);
      } catch (error) {
        return fail(`${name}: ${describeError(error)}`, fix);
      }
    },
  };
}

/** `invalid`: why the settings are invalid, when `auth` is undefined. */
export function entraChecks(auth: AuthConfig | undefined, invalid: readonly string[] = []): Check[] {
  if (auth === undefined) return [invalidSettingsCheck('Entra', invalid)];
  const tenants = auth.allowedTenants.map((tenant) => keySetCheck(
    auth,
    `tenant ${tenant}`,
    // The service's own issuer for this one tenant: its discovery document and key set.
    new EntraIssuer({ ...auth, allowedTenants: [tenant] }).keySet,
    `check the tenant id (AZURE_TENANT_ID / AUTH_ALLOWED_TENANTS) and AZURE_AUTHORITY_HOST (${auth.authorityHost}), and that it can be reached from here`,
  ));
  const others = auth.issuers.map((config) => keySetCheck(
    auth,
    `issuer ${config.issuer}`,
    new OidcIssuer(config).keySet,
    `check this AUTH_ISSUERS entry's "issuer"${config.jwksUri ? ', "jwksUri"' : ''} and "algorithms" (${config.algorithms.join(', ')}: its keys must be of one of them), and that it can be reached from here`,
  ));
  return [...tenants, ...others];
}
