// A typed client of the ACS token service: openapi-fetch over the types generated from
// openapi.yaml (./schema.ts, by `npm run generate:client`). Every operation is a method; a
// problem+json answer becomes a TokenServiceProblem with its stable `code`.
import createClient from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type Problem = components['schemas']['Problem'];
export type AcsToken = components['schemas']['AcsToken'];
export type TeamsAcsToken = components['schemas']['TeamsAcsToken'];
export type AcsUser = components['schemas']['AcsUser'];
export type DeletionQueued = components['schemas']['DeletionQueued'];

/** A refusal or failure of the service, as it described it (RFC 9457 problem details). */
export class TokenServiceProblem extends Error {
  readonly status: number;
  readonly code: string;
  constructor(readonly problem: Problem, readonly retryAfterSeconds: number | undefined) {
    super(`${problem.title}: ${problem.detail} (${problem.code})`);
    this.name = 'TokenServiceProblem';
    this.status = problem.status;
    this.code = problem.code;
  }
}

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
      const retryAfter = response.headers.get('retry-after');
      throw new TokenServiceProblem(error as Problem, retryAfter === null ? undefined : Number(retryAfter));
    }
    return { data: data as T, status: response.status };
  }

  const api = {
    /** An ACS token for the user (creating their identity on first use). */
    async getToken(options: GetTokenOptions = {}): Promise<AcsToken> {
      const query = {
        ...(options.scopes ? { scopes: options.scopes.join(',') } : {}),
        ...(options.expiresInMinutes ? { expiresInMinutes: options.expiresInMinutes } : {}),
      };
      return (await unwrap(client.GET('/api/token', { params: { query } }))).data;
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
     * fetches a fresh ACS token from the service whenever the credential needs one.
     */
    tokenRefresher(options: GetTokenOptions = {}): (abortSignal?: unknown) => Promise<string> {
      return async () => (await api.getToken(options)).token;
    },
  };
  return api;
}
