// Gets a Teams user's Entra token for the ACS Teams scopes on behalf of the caller (OAuth 2.0
// on-behalf-of), with the real @azure/msal-node client. One client for the process, so that
// MSAL's throttling (it holds back while Entra ID asks it to) covers every request. Repeated
// requests of a user are served from TeamsTokenCache, not from MSAL's cache: MSAL keys its
// entries by the caller's token, which changes at every refresh, and never evicts them.
// MSAL is loaded at the first exchange, not at start: a service whose callers never exchange
// (or never reach Entra ID) does not pay for loading it.
import type { ConfidentialClientApplication, INetworkModule, NetworkResponse } from '@azure/msal-node';
import { TEAMS_OBO_SCOPES } from '../acs/acsScopes.js';
import type { EntraCaller } from '../auth/caller.js';
import type { IdentityProviderHttp } from '../auth/identityProviderHttp.js';
import type { AuthConfig } from '../auth/authSettings.js';
import { TeamsTokenCache } from './teamsTokenCache.js';
import { teamsTokenOwner } from './teamsTokenOwner.js';

export type OboFailureKind =
  | 'consent_required' // an admin must consent to the Teams scopes for this app
  | 'interaction_required' // the user must sign in again (MFA, conditional access)
  | 'refused' // the caller's token cannot be exchanged (expired, revoked, wrong audience)
  | 'client_rejected' // Entra refused this service's own credentials
  | 'request_rejected' // Entra refused the request for good (e.g. ACS not set up in that tenant)
  | 'unavailable'; // Entra failed or did not answer

export class OboError extends Error {
  constructor(
    readonly kind: OboFailureKind,
    /** The AADSTS code, e.g. AADSTS65001: safe to show, and what an admin searches for. */
    readonly aadsts: string | undefined,
    /** For interaction_required: the claims challenge the client must pass on when signing in again. */
    readonly claims: string | undefined,
    cause: unknown,
  ) {
    super(`On-behalf-of exchange failed: ${kind}${aadsts ? ` (${aadsts})` : ''}`, { cause });
    this.name = 'OboError';
  }
}

type Msal = typeof import('@azure/msal-node');

function classifyOboError(error: unknown, msal: Msal | undefined): OboError {
  const { errorCode = '', subError = '', errorMessage = '', message = '', claims } = (error ?? {}) as Record<string, string | undefined>;
  const aadsts = /AADSTS\d+/.exec(errorMessage || message)?.[0];
  // Only an answer from Entra (ServerError, InteractionRequiredAuthError) can be a refusal;
  // anything else (no answer, a timeout) is an outage, and so is a 5xx.
  // (Without MSAL loaded, the error cannot be its answer.)
  const answered = msal !== undefined && (error instanceof msal.ServerError || error instanceof msal.InteractionRequiredAuthError);
  const status = (error as { status?: number }).status;
  // While MSAL holds back after a 429/5xx (as Entra asks), it throws a ServerError whose code
  // is the remembered numeric error codes: that is an outage too.
  const heldBack = /^[\d ]+$/.test(errorCode);
  const kind: OboFailureKind =
    !answered || heldBack || (status !== undefined && status >= 500) || errorCode === 'temporarily_unavailable' ? 'unavailable'
    : aadsts === 'AADSTS65001' || errorCode === 'consent_required' || subError === 'consent_required' ? 'consent_required'
    : errorCode === 'interaction_required' || errorCode === 'login_required' ? 'interaction_required'
    : errorCode === 'invalid_grant' ? 'refused'
    : errorCode === 'invalid_client' || errorCode === 'unauthorized_client' ? 'client_rejected'
    : 'request_rejected';
  return new OboError(kind, aadsts, kind === 'interaction_required' ? claims || undefined : undefined, error);
}

/** MSAL's HTTP goes through the service's identity-provider client (timeouts, authority CA). */
function msalNetworkClient(http: IdentityProviderHttp): INetworkModule {
  const send = async <T>(url: string, options: { headers?: Record<string, string>; body?: string } | undefined, method: 'GET' | 'POST') => {
    const answer = await http.request(url, { method, headers: options?.headers ?? {}, body: options?.body });
    return answer as NetworkResponse<T>;
  };
  return {
    sendGetRequestAsync: (url, options) => send(url, options, 'GET'),
    sendPostRequestAsync: (url, options) => send(url, options, 'POST'),
  };
}

/** Sizes of the caches, for the metrics: Teams tokens kept for reuse, and MSAL's own entries. */
export type OboCacheSizes = (sizes: { teamsTokens: number; msal: number }) => void;

// What MSAL may keep: its throttling state (Entra ID's Retry-After, per tenant and scopes) and
// the authority's metadata. Everything else is a token or account per caller's token.
const MSAL_KEPT_PREFIXES = ['throttling', 'authority-metadata'];

export class TeamsOnBehalfOf {
  /** MSAL's module, once loaded. */
  private msalModule: Msal | undefined;
  /** The one client, made at the first exchange (concurrent first exchanges share it). */
  private msalClient: Promise<ConfidentialClientApplication> | undefined;
  private readonly cache: TeamsTokenCache;

  constructor(
    private readonly auth: AuthConfig & { clientSecret: string },
    private readonly http: IdentityProviderHttp,
    private readonly reportSizes: OboCacheSizes = () => undefined,
  ) {
    this.cache = new TeamsTokenCache(auth.oboCacheSize);
  }

  private async msal(): Promise<ConfidentialClientApplication> {
    this.msalClient ??= import('@azure/msal-node').then((msal) => {
      this.msalModule = msal;
      return new msal.ConfidentialClientApplication({
        auth: {
          clientId: this.auth.clientId,
          clientSecret: this.auth.clientSecret,
          authority: `${this.auth.authorityHost}/${this.auth.allowedTenants[0]}`,
          // Trust the configured authority as it is: no instance discovery call.
          knownAuthorities: [this.auth.authorityHost],
        },
        system: { networkClient: msalNetworkClient(this.http) },
      });
    }).catch((error: unknown) => {
      // Tried again at the next exchange, not remembered as failed until a restart.
      this.msalClient = undefined;
      throw error;
    });
    return this.msalClient;
  }

  /**
   * The Teams token for the ACS Teams scopes of `user`, the caller of `callerToken`. Its ids are
   * lowercase GUIDs, as teamsTokenOwner reads a Teams token's owner.
   */
  async teamsToken(callerToken: string, user: EntraCaller): Promise<string> {
    const cached = this.cache.get(user, TEAMS_OBO_SCOPES);
    if (cached !== undefined) return cached;
    let msal: ConfidentialClientApplication | undefined;
    try {
      // Loading MSAL failing is an outage like Entra not answering (503), not a server error.
      msal = await this.msal();
      const result = await msal.acquireTokenOnBehalfOf({
        oboAssertion: callerToken,
        scopes: [...TEAMS_OBO_SCOPES],
        // The caller's own tenant: a guest or multi-tenant user's Teams identity lives there.
        authority: `${this.auth.authorityHost}/${user.tenantId}`,
        // MSAL's cache could only answer the same caller token again: TeamsTokenCache answers.
        skipCache: true,
      });
      if (!result?.accessToken) throw new Error('Entra ID answered without an access token');
      const owner = teamsTokenOwner(result.accessToken);
      // Kept only under its own owner (the route refuses any other); it lives until its `exp`.
      if (owner?.tenantId === user.tenantId && owner.objectId === user.objectId) {
        this.cache.set(user, TEAMS_OBO_SCOPES, result.accessToken, Math.min(owner.expiresAt ?? Infinity, result.expiresOn?.getTime() ?? Infinity));
      }
      return result.accessToken;
    } catch (error) {
      throw classifyOboError(error, this.msalModule);
    } finally {
      if (msal) this.pruneMsalCache(msal);
    }
  }

  /** MSAL stores every token it obtains (even with skipCache) and evicts none: drop them. */
  private pruneMsalCache(msal: ConfidentialClientApplication): void {
    const store = msal.getTokenCache().getKVStore();
    for (const key of Object.keys(store)) {
      if (!MSAL_KEPT_PREFIXES.some((prefix) => key.startsWith(prefix))) delete store[key];
    }
    this.reportSizes({ teamsTokens: this.cache.size, msal: Object.keys(store).length });
  }
}
