// How the tokenRefresher fetches: AzureCommunicationTokenCredential calls it whenever it needs a
// token and may pass an abort signal. A 429 or 503 is waited out as its Retry-After asks (up to a
// bound) and retried a bounded number of times; an abort rejects at once, also while waiting.
import { TokenServiceProblem } from './problem.js';

/** The shape of the signal AzureCommunicationTokenCredential passes (@azure/abort-controller's). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface RetryOptions {
  /** Retries after a 429 or 503 before the problem is thrown (default 3). */
  maxRetries?: number;
  /** A Retry-After longer than this is not waited for: the problem is thrown at once (default 30). */
  maxRetryAfterSeconds?: number;
}

/** Waited when a 429 or 503 names no Retry-After. */
const defaultRetryAfterSeconds = 1;

function abortError(): Error {
  const error = new Error('The token refresh was aborted.');
  error.name = 'AbortError';
  return error;
}

/** Settles as `work` does, or rejects at once when the signal aborts first. */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignalLike | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(ms: number, signal: AbortSignalLike | undefined): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); });
  // An abort must not leave the timer holding the process open.
  return unlessAborted(waited, signal).finally(() => clearTimeout(timer));
}

/** The seconds to wait before retrying, or undefined when the failure is not worth a retry. */
function retryDelaySeconds(error: unknown): number | undefined {
  if (!(error instanceof TokenServiceProblem) || (error.status !== 429 && error.status !== 503)) return undefined;
  return error.retryAfterSeconds ?? defaultRetryAfterSeconds;
}

// setTimeout fires at once for a delay past 2^31 - 1 ms.
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** Throws a TypeError for bounds that would retry forever or never make sense. */
export function checkRetryOptions({ maxRetries, maxRetryAfterSeconds }: RetryOptions): void {
  if (maxRetries !== undefined && !(Number.isInteger(maxRetries) && maxRetries >= 0)) {
    throw new TypeError(`maxRetries must be a whole number, 0 or more; got ${String(maxRetries)}`);
  }
  if (maxRetryAfterSeconds !== undefined && !(Number.isFinite(maxRetryAfterSeconds) && maxRetryAfterSeconds >= 0 && maxRetryAfterSeconds <= MAX_TIMER_SECONDS)) {
    throw new TypeError(`maxRetryAfterSeconds must be a number of seconds from 0 to ${MAX_TIMER_SECONDS}; got ${String(maxRetryAfterSeconds)}`);
  }
}

/**
 * Calls `fetchToken` (handing it the signal when it is a real AbortSignal, so the request itself
 * is cancelled) and retries 429 and 503 answers after their Retry-After.
 */
export async function refreshWithRetries(
  fetchToken: (signal: AbortSignal | undefined) => Promise<string>,
  signal: AbortSignalLike | undefined,
  { maxRetries = 3, maxRetryAfterSeconds = 30 }: RetryOptions = {},
): Promise<string> {
  const fetchSignal = typeof AbortSignal !== 'undefined' && signal instanceof AbortSignal ? signal : undefined;
  for (let retries = 0; ; retries++) {
    if (signal?.aborted) throw abortError();
    try {
      return await unlessAborted(fetchToken(fetchSignal), signal);
    } catch (error) {
      if (signal?.aborted) throw abortError();
      const delay = retryDelaySeconds(error);
      if (delay === undefined || retries >= maxRetries || delay > maxRetryAfterSeconds) throw error;
      await sleep(delay * 1000, signal);
    }
  }
}
