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

/**
 * The problem an answer that is not ok stands for: the service's own problem details, or, for
 * an answer that is not one (a proxy's or gateway's empty or HTML page), one made from its
 * status, with the code `http_<status>`.
 */
export function problemOf(body: unknown, response: Response): Problem {
  const given = body as Partial<Problem> | undefined;
  if (given && typeof given === 'object' && typeof given.code === 'string' && typeof given.title === 'string' && given.status === response.status) {
    return given as Problem;
  }
  return {
    type: 'about:blank',
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail: 'The answer did not come from the token service (a proxy or gateway on the way answered).',
    code: `http_${response.status}`,
  };
}

// RFC 9110: delay-seconds is digits only; an HTTP date is the IMF-fixdate form.
const DELAY_SECONDS = /^\s*(\d+)\s*$/;
const IMF_FIXDATE = /^\s*[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\s*$/;

/** Retry-After in seconds (never negative), or undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const seconds = DELAY_SECONDS.exec(header)?.[1];
  if (seconds !== undefined) return Number(seconds);
  if (!IMF_FIXDATE.test(header)) return undefined;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
