// The error every problem+json answer of the service becomes, with the seconds its Retry-After
// asked for (given as seconds or as an HTTP date).
import type { components } from './schema.js';

export type Problem = components['schemas']['Problem'];

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

/** Retry-After in seconds (never negative), or undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
