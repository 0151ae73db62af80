// The service's only door to ACS: the real @azure/communication-identity client, with a
// timeout on every operation, bounded retries of idempotent calls (honouring Retry-After),
// a circuit breaker, and errors classified (AcsError). The SDK's own retries are off: its
// default policy retries POSTs, which could create an identity twice.
import type { CommunicationIdentityClient } from '@azure/communication-identity';
import type { AcsConfig } from './acsSettings.js';
import { AcsError, classifyAcsError, isTransient } from './acsErrors.js';
import { CircuitBreaker, type CircuitState } from './circuitBreaker.js';
import { entraCredential } from '../shared/entraCredential.js';

const FIRST_BACKOFF_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
import type { AcsScope } from './acsScopes.js';

export interface IssuedToken {
  token: string;
  expiresOn: Date;
}

export interface CreatedIdentity extends IssuedToken {
  acsUserId: string;
}

export class AcsIdentityClient {
  private client: Promise<CommunicationIdentityClient> | undefined;
  private readonly breaker: CircuitBreaker;

  constructor(
    private readonly config: AcsConfig,
    /** Told about every call: its operation, outcome (ok or the failure kind) and seconds. */
    private readonly observe: (operation: string, outcome: string, seconds: number) => void = () => undefined,
  ) {
    this.breaker = new CircuitBreaker(config.circuitBreaker.threshold, config.circuitBreaker.cooldownMs);
  }

  /**
   * The Azure SDK's client, its modules loaded at the first call or by `preload` (after the
   * server listens): they are among the dearest to load, and a start need not wait for them.
   */
  preload(): Promise<CommunicationIdentityClient> {
    this.client ??= import('@azure/communication-identity').then(({ CommunicationIdentityClient }) => {
      const options = {
        // Config validation allows http:// only for loopback endpoints (the local emulator).
        allowInsecureConnection: this.config.endpoint.protocol === 'http:',
        retryOptions: { maxRetries: 0 },
      };
      return this.config.connectionString
        ? new CommunicationIdentityClient(this.config.connectionString, options)
        // No access key: an Entra credential (managed identity, workload identity, environment…).
        : new CommunicationIdentityClient(this.config.endpoint.origin, entraCredential(this.config.credentialClientId), options);
    }).catch((error: unknown) => {
      // Tried again at the next call.
      this.client = undefined;
      throw error;
    });
    return this.client;
  }

  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  /** The longest one call may take. */
  get requestTimeoutMs(): number {
    return this.config.requestTimeoutMs;
  }

  /** Creates an identity and its first token in one round trip. */
  createIdentityWithToken(scopes: AcsScope[], expiresInMinutes: number): Promise<CreatedIdentity> {
    return this.call('createIdentity', { idempotent: false }, async (client, abortSignal) => {
      const result = await client.createUserAndToken(scopes, { tokenExpiresInMinutes: expiresInMinutes, abortSignal });
      return { acsUserId: result.user.communicationUserId, token: result.token, expiresOn: result.expiresOn };
    });
  }

  createIdentity(): Promise<{ acsUserId: string }> {
    return this.call('createIdentity', { idempotent: false }, async (client, abortSignal) => {
      const user = await client.createUser({ abortSignal });
      return { acsUserId: user.communicationUserId };
    });
  }

  issueToken(acsUserId: string, scopes: AcsScope[], expiresInMinutes: number): Promise<IssuedToken> {
    return this.call('issueToken', { idempotent: true }, (client, abortSignal) =>
      client.getToken({ communicationUserId: acsUserId }, scopes, { tokenExpiresInMinutes: expiresInMinutes, abortSignal }));
  }

  revokeTokens(acsUserId: string): Promise<void> {
    return this.call('revokeTokens', { idempotent: true }, (client, abortSignal) => client.revokeTokens({ communicationUserId: acsUserId }, { abortSignal }));
  }

  /** Exchanges a Teams user's Entra token (issued to app `clientId`, for user `userObjectId`). */
  exchangeTeamsToken(teamsUserAadToken: string, clientId: string, userObjectId: string): Promise<IssuedToken> {
    return this.call('exchangeTeamsToken', { idempotent: true }, (client, abortSignal) =>
      client.getTokenForTeamsUser({ teamsUserAadToken, clientId, userObjectId, abortSignal }));
  }

  /** Deletes the identity; an identity ACS does not know counts as deleted. */
  async deleteIdentity(acsUserId: string): Promise<void> {
    try {
      await this.call('deleteIdentity', { idempotent: true }, (client, abortSignal) => client.deleteUser({ communicationUserId: acsUserId }, { abortSignal }));
    } catch (error) {
      if (!(error instanceof AcsError && error.kind === 'identity_missing')) throw error;
    }
  }

  private async call<T>(operation: string, { idempotent }: { idempotent: boolean }, run: (client: CommunicationIdentityClient, abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.config.requestTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (!this.breaker.tryAcquire()) {
        throw new AcsError('unavailable', operation, this.breaker.retryAfterSeconds, undefined, new Error('circuit open'));
      }
      let error: AcsError;
      const started = performance.now();
      try {
        const result = await run(await this.preload(), AbortSignal.timeout(Math.max(1, deadline - Date.now())));
        this.breaker.succeeded();
        this.observe(operation, 'ok', (performance.now() - started) / 1000);
        return result;
      } catch (thrown) {
        error = classifyAcsError(operation, thrown);
        this.observe(operation, error.kind, (performance.now() - started) / 1000);
      }
      // Any answer (a refusal, a 404, throttling) shows ACS is up; only outages count.
      if (error.kind === 'unavailable') this.breaker.failed();
      else this.breaker.succeeded();
      const wait = error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : FIRST_BACKOFF_MS * 2 ** attempt;
      if (!idempotent || !isTransient(error) || attempt >= this.config.maxRetries || Date.now() + wait >= deadline) throw error;
      await sleep(wait);
    }
  }
}
