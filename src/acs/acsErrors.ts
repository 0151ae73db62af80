// What went wrong with a call to ACS, classified for the caller. The error handler maps each
// kind to a status and a problem code; the upstream body is never passed on.
export type AcsFailureKind =
  | 'throttled' // 429: ACS throttles this resource
  | 'unavailable' // 5xx, timeout, network: try again later
  | 'identity_missing' // 404: the stored identity no longer exists
  | 'identity_not_owned' // 401 IdentityNotOwned: the identity belongs to another resource
  | 'teams_token_refused' // 401 InvalidAccessToken on a Teams exchange: the Teams token is bad or expired
  | 'teams_token_rejected' // 400 on a Teams exchange: the Teams token is not for this app or user
  | 'rejected'; // any other refusal: our credentials or request were refused

/** Failures worth trying again: ACS said "later", or did not answer. */
export const isTransient = (error: AcsError) => error.kind === 'throttled' || error.kind === 'unavailable';

export class AcsError extends Error {
  constructor(
    readonly kind: AcsFailureKind,
    readonly operation: string,
    readonly retryAfterSeconds: number | undefined,
    readonly upstreamStatus: number | undefined,
    cause: unknown,
  ) {
    super(`ACS ${operation} failed: ${kind}${upstreamStatus ? ` (HTTP ${upstreamStatus})` : ''}`, { cause });
    this.name = 'AcsError';
  }
}


function retryAfterOf(error: { response?: { headers?: { get(name: string): string | undefined } } }): number | undefined {
  const value = error.response?.headers?.get('retry-after');
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** Classifies whatever the ACS SDK threw (RestError, AbortError, network error). */
export function classifyAcsError(operation: string, error: unknown): AcsError {
  const { name, statusCode, code } = (error ?? {}) as { name?: string; statusCode?: number; code?: string };
  // An Entra credential that cannot get a token (ACS_ENDPOINT mode) is a configuration
  // problem, not an outage: no retry, no circuit, a 502 that says so.
  if (name === 'CredentialUnavailableError' || name === 'AuthenticationError' || name === 'AggregateAuthenticationError') {
    return new AcsError('rejected', operation, undefined, undefined, error);
  }
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new AcsError('unavailable', operation, undefined, undefined, error);
  }
  const teamsExchange = operation === 'exchangeTeamsToken';
  const kind: AcsFailureKind =
    teamsExchange && statusCode === 401 && code === 'InvalidAccessToken' ? 'teams_token_refused'
    : teamsExchange && statusCode === 400 ? 'teams_token_rejected'
    : statusCode === 429 ? 'throttled'
    : statusCode === undefined || statusCode >= 500 ? 'unavailable'
    : statusCode === 404 ? 'identity_missing'
    : code === 'IdentityNotOwned' ? 'identity_not_owned'
    : 'rejected';
  // Retry-After as ACS sent it (undefined when it did not); the caller picks a default.
  const retryAfter = kind === 'throttled' || kind === 'unavailable' ? retryAfterOf(error as Parameters<typeof retryAfterOf>[0]) : undefined;
  return new AcsError(kind, operation, retryAfter, statusCode, error);
}
