// A problem sent as application/problem+json (RFC 9457): by the error handler for what was
// thrown, and by handlers that answer a problem with a body of their own (GET /readyz).
import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';
import { isShared, type HttpProblem } from './httpProblem.js';

declare module 'fastify' {
  interface FastifyReply {
    /** The problem this reply answered with, if any (for the request's log line). */
    problem: HttpProblem | null;
  }
}

/**
 * The bodies of shared refusals (4xx without a list of errors), serialized once per problem: a
 * flood of bad tokens is answered with a handful of shared problems (toProblem), each with the
 * same body.
 * JSON.stringify writes the properties in the order of the contract's Problem schema, as the
 * route's serializer would.
 */
const serializedBodies = new WeakMap<HttpProblem, string>();

function problemBody(reply: FastifyReply, problem: HttpProblem): Record<string, unknown> {
  const { errors } = problem.extra;
  return {
    type: `urn:acs-token-service:problem:${problem.code}`,
    title: STATUS_CODES[problem.status] ?? 'Error',
    status: problem.status,
    detail: problem.status === 500 ? `${problem.detail} Request id: ${reply.request.id}.` : problem.detail,
    code: problem.code,
    ...(errors ? { errors } : {}),
  };
}

export function sendProblem(reply: FastifyReply, problem: HttpProblem, extraBody?: Record<string, unknown>): FastifyReply {
  reply.problem = problem;
  const { retryAfterSeconds, headers, errors } = problem.extra;
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
  if (headers) reply.headers(headers);
  // Only what a JSON answer needs beside its own headers (the request id, a challenge,
  // Retry-After, the rate-limit headers): of httpSecurity's browser headers, a problem gets only
  // its content policy and HSTS. The body is small too: the request id is in X-Request-Id.
  reply
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .type('application/problem+json')
    .code(problem.status);
  if (extraBody !== undefined || errors || problem.status >= 500 || !isShared(problem)) return reply.send({ ...problemBody(reply, problem), ...extraBody });
  let body = serializedBodies.get(problem);
  if (body === undefined) {
    body = JSON.stringify(problemBody(reply, problem));
    serializedBodies.set(problem, body);
  }
  return reply.send(body);
}
