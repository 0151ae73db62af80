// The service's only door to ACS: the real @azure/communication-identity client, with a
// timeout on every call and errors classified (AcsError). The SDK's own retries are off:
// its default policy retries POSTs, which could create an identity twice.
import { CommunicationIdentityClient } from '@azure/communication-identity';
import type { AcsConfig } from '../config.js';
import { AcsError, classifyAcsError } from './acsErrors.js';
import type { AcsScope } from './acsScopes.js';

export interface IssuedToken {
  token: string;
  expiresOn: Date;
}

export interface CreatedIdentity extends IssuedToken {
  acsUserId: string;
}

export class AcsIdentityClient {
  private readonly client: CommunicationIdentityClient;

  constructor(private readonly config: AcsConfig) {
    this.client = new CommunicationIdentityClient(config.connectionString, {
      // Config validation allows http:// only for loopback endpoints (the local emulator).
      allowInsecureConnection: config.endpoint.protocol === 'http:',
      retryOptions: { maxRetries: 0 },
    });
  }

  /** The longest one call may take. */
  get requestTimeoutMs(): number {
    return this.config.requestTimeoutMs;
  }

  /** Creates an identity and its first token in one round trip. */
  createIdentityWithToken(scopes: AcsScope[], expiresInMinutes: number): Promise<CreatedIdentity> {
    return this.call('createIdentity', async (abortSignal) => {
      const result = await this.client.createUserAndToken(scopes, { tokenExpiresInMinutes: expiresInMinutes, abortSignal });
      return { acsUserId: result.user.communicationUserId, token: result.token, expiresOn: result.expiresOn };
    });
  }

  createIdentity(): Promise<{ acsUserId: string }> {
    return this.call('createIdentity', async (abortSignal) => {
      const user = await this.client.createUser({ abortSignal });
      return { acsUserId: user.communicationUserId };
    });
  }

  issueToken(acsUserId: string, scopes: AcsScope[], expiresInMinutes: number): Promise<IssuedToken> {
    return this.call('issueToken', (abortSignal) =>
      this.client.getToken({ communicationUserId: acsUserId }, scopes, { tokenExpiresInMinutes: expiresInMinutes, abortSignal }));
  }

  revokeTokens(acsUserId: string): Promise<void> {
    return this.call('revokeTokens', (abortSignal) => this.client.revokeTokens({ communicationUserId: acsUserId }, { abortSignal }));
  }

  /** Exchanges a Teams user's Entra token (issued to app `clientId`, for user `userObjectId`). */
  exchangeTeamsToken(teamsUserAadToken: string, clientId: string, userObjectId: string): Promise<IssuedToken> {
    return this.call('exchangeTeamsToken', (abortSignal) =>
      this.client.getTokenForTeamsUser({ teamsUserAadToken, clientId, userObjectId, abortSignal }));
  }

  /** Deletes the identity; an identity ACS does not know counts as deleted. */
  async deleteIdentity(acsUserId: string): Promise<void> {
    try {
      await this.call('deleteIdentity', (abortSignal) => this.client.deleteUser({ communicationUserId: acsUserId }, { abortSignal }));
    } catch (error) {
      if (!(error instanceof AcsError && error.kind === 'identity_missing')) throw error;
    }
  }

  private async call<T>(operation: string, run: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await run(AbortSignal.timeout(this.config.requestTimeoutMs));
    } catch (error) {
      throw classifyAcsError(operation, error);
    }
  }
}
