// An answer that is not a success, raised by a handler and sent by the error handler as
// application/problem+json (RFC 9457). `code` is the stable name clients switch on.
import type { Schemas } from './contract.js';

export type InvalidParam = Schemas['InvalidParam'];

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly extra: { errors?: InvalidParam[]; retryAfterSeconds?: number; headers?: Record<string, string> } = {},
  ) {
    // An expected refusal: answered, never debugged. Capturing its stack trace was the largest
    // cost of refusing a flood of bad requests.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'HttpProblem';
  }
}

// Problems made once and answered again and again (a flood of bad tokens): what is derived from
// them for an answer (its body, its audit details) is kept with them. Other problems are made per
// request, and keeping anything for them would only cost.
const sharedProblems = new WeakSet<HttpProblem>();

export function markShared(problem: HttpProblem): HttpProblem {
  sharedProblems.add(problem);
  return problem;
}

export const isShared = (problem: HttpProblem): boolean => sharedProblems.has(problem);
