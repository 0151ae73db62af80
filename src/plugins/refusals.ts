// What becomes of a refusal (a 4xx the error handler answers): authentication's refusals are
// counted by the metrics, and refusals are written to the audit trail by reason class.
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { isShared, type HttpProblem } from '../http/httpProblem.js';

// Refusals that come in floods, answered before any budget applies or because one ran out:
// counted by the metrics, not written to the audit trail one row each.
const NOT_AUDITED = new Set(['rate_limited', 'uri_too_long', 'payload_too_large', 'not_found']);

type Details = Readonly<{ reason: string; status: number; route: string }>;

/**
 * The audit details of a refusal, made once per shared problem and route (and frozen, so the
 * audit trail works out their tally key once): a flood repeats a handful of shared problems.
 */
const detailsByProblem = new WeakMap<HttpProblem, Map<string, Details>>();

function refusalDetails(problem: HttpProblem, route: string): Details {
  if (!isShared(problem)) return { reason: problem.code, status: problem.status, route };
  let byRoute = detailsByProblem.get(problem);
  if (byRoute === undefined) {
    byRoute = new Map();
    detailsByProblem.set(problem, byRoute);
  }
  let details = byRoute.get(route);
  if (details === undefined) {
    details = Object.freeze({ reason: problem.code, status: problem.status, route });
    byRoute.set(route, details);
  }
  return details;
}

/** Refusals are counted, and audited by reason class (the caller only when known). */
function recordRefusal(request: FastifyRequest, problem: HttpProblem): void {
  const { server } = request;
  if (problem.code === 'invalid_token' || problem.code === 'insufficient_scope') server.metrics.authFailures.inc({ reason: problem.code });
  if (NOT_AUDITED.has(problem.code)) return;
  const user = request.user as typeof request.user | null;
  const details = refusalDetails(problem, request.routeOptions.url ?? 'unmatched');
  // An unidentified caller (a bad token) is tallied, so that a flood costs no database work.
  if (user?.userKey) server.audit.record('request_refused', server.hashUser(user), details);
  else server.audit.tally('request_refused', details);
}

export default fp(async function refusals(app) {
  app.onRefusal(recordRefusal);
}, {
  name: 'refusals',
  dependencies: ['problem-details', 'metrics', 'audit', 'authentication'],
  decorators: { fastify: ['onRefusal', 'metrics', 'audit', 'hashUser'], request: ['user'] },
});
