// A typed client of the ACS token service: openapi-fetch over the types generated from
// openapi.yaml (./schema.ts, by `npm run generate:client`). Every operation is a method; a
// problem+json answer becomes a TokenServiceProblem with its stable `code`.
import createClient from 'openapi-fetch';
import { parseRetryAfter, problemOf, TokenServiceProblem } from './problem.js';
import type { components, paths } from './schema.js';
import { checkRetryOptions, refreshWithRetries, type AbortSignalLike, type RetryOptions } from './tokenRefresher.js';

export type AcsToken = components['schemas']['AcsToken'];
export type TeamsAcsToken = components['schemas']['TeamsAcsToken'];
export type AcsUser = components['schemas']['AcsUser'];
export type DeletionQueued = components['schemas']['DeletionQueued'];
export { TokenServiceProblem, type Problem } from './problem.js';
export type { AbortSignalLike, RetryOptions } from './tokenRefresher.js';

export interface TokenServiceClientOptions {
  /** e.g. https://tokens.example.com (no trailing slash). */
  baseUrl: string;
  /** The signed-in user's Entra ID access token for the service (MSAL's acquireTokenSilent). */
  getAccessToken: () => Promise<string>;
  fetch?: typeof globalThis.fetch;
}

export interface GetTokenOptions {
  scopes?: Array<'chat' | 'voip' | 'chat.join' | 'chat.join.limited' | 'voip.join'>;
  expiresInMinutes?: number;
}

export function createTokenServiceClient({ baseUrl, getAccessToken, fetch }: TokenServiceClientOptions) {
  const client = createClient<paths>({ baseUrl, ...(fetch ? { fetch } : {}) });
  client.use({
    async onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${await getAccessToken()}`);
      return request;
    },
  });

  /** The success body, or a TokenServiceProblem for any problem answer. */
  async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<{ data: T; status: number }> {
    const { data, error, response } = await call;
    if (!response.ok) {
      throw new TokenServiceProblem(problemOf(error, response), parseRetryAfter(response.headers.get('retry-after')));
    }
    return { data: data as T, status: response.status };
  }

  async function fetchToken(options: GetTokenOptions, signal?: AbortSignal): Promise<AcsToken> {
    const query = {
      ...(options.scopes ? { scopes: options.scopes.join(',') } : {}),
      ...(options.expiresInMinutes ? { expiresInMinutes: options.expiresInMinutes } : {}),
    };
    return (await unwrap(client.GET('/api/token', { params: { query }, ...(signal ? { signal } : {}) }))).data;
  }

  const api = {
    /** An ACS token for the user (creating their identity on first use). */
    getToken(options: GetTokenOptions = {}): Promise<AcsToken> {
      return fetchToken(options);
    },
    async revokeTokens(): Promise<void> {
      await unwrap(client.POST('/api/token/revoke'));
    },
    /** A Teams user's ACS token: with their Entra token, or obtained by the service on their behalf. */
    async exchangeTeamsToken(teamsUserAadToken?: string): Promise<TeamsAcsToken> {
      const header = teamsUserAadToken ? { 'teams-user-aad-token': teamsUserAadToken } : {};
      return (await unwrap(client.GET('/api/token/teams', { params: { header } }))).data;
    },
    /** The user's ACS identity, or undefined when they have none yet. */
    async getUser(): Promise<AcsUser | undefined> {
      try {
        return (await unwrap(client.GET('/api/user'))).data;
      } catch (error) {
        if (error instanceof TokenServiceProblem && error.code === 'identity_not_found') return undefined;
        throw error;
      }
    },
    /** Creates the user's identity if needed; `created` says whether this call did. */
    async createUser(): Promise<AcsUser & { created: boolean }> {
      const { data, status } = await unwrap(client.POST('/api/user'));
      return { ...data, created: status === 201 };
    },
    /** Deletes the user's identity; `queued` when ACS will finish it later. */
    async deleteUser(): Promise<{ queued: boolean }> {
      const { status } = await unwrap(client.DELETE('/api/user'));
      return { queued: status === 202 };
    },
    /**
     * For `new AzureCommunicationTokenCredential({ tokenRefresher: client.tokenRefresher(), … })`:
     * fetches a fresh ACS token from the service whenever the credential needs one, waits out a
     * 429 or 503 as its Retry-After asks (bounded by `maxRetries` and `maxRetryAfterSeconds`), and
     * rejects at once when the credential aborts.
     */
    tokenRefresher(options: GetTokenOptions & RetryOptions = {}): (abortSignal?: AbortSignalLike) => Promise<string> {
      checkRetryOptions(options);
      return (abortSignal) =>
        refreshWithRetries(async (signal) => (await fetchToken(options, signal)).token, abortSignal, options);
    },
  };
  return api;
}
