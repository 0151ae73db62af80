// One error handler and one not-found handler for the whole service: every failure leaves as
// application/problem+json (RFC 9457) with a stable `code`, and nothing internal (no stack,
// SQL or upstream body). This is the one place where errors become statuses.
import { STATUS_CODES } from 'node:http';
import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AcsError, type AcsFailureKind } from '../acs/acsErrors.js';
import { AuthError } from '../auth/authError.js';
import { KeySetUnavailableError } from '../auth/signingKeys.js';
import { DatabaseUnavailableError } from '../db/databaseErrors.js';
import { IdentityCreationPendingError } from '../db/identityStore.js';
import { HttpProblem, type InvalidParam } from '../httpProblem.js';

const ACS_PROBLEMS: Record<AcsFailureKind, { status: number; code: string; detail: string }> = {
  throttled: { status: 429, code: 'acs_throttled', detail: 'ACS is throttling this resource; retry later.' },
  unavailable: { status: 503, code: 'acs_unavailable', detail: 'ACS failed or did not answer in time; retry later.' },
  identity_missing: {
    status: 502, code: 'acs_identity_missing',
    detail: 'The stored ACS identity no longer exists in the ACS resource; DELETE /api/user, then ask again for a new one.',
  },
  identity_not_owned: {
    status: 502, code: 'acs_identity_not_owned',
    detail: 'The stored ACS identity belongs to another ACS resource than the one this service is configured with.',
  },
  rejected: { status: 502, code: 'acs_rejected', detail: 'ACS refused the request of this service; check its ACS configuration.' },
};

function bearerChallenge(error: AuthError, requiredScope: string): string {
  const description = error.description.replace(/["\\]/g, "'");
  return error.status === 403
    ? `Bearer error="insufficient_scope", error_description="${description}", scope="${requiredScope}"`
    : `Bearer error="invalid_token", error_description="${description}"`;
}

/** Fastify/Ajv validation errors → which parameter was wrong, and why. */
function invalidParams(error: FastifyError): InvalidParam[] {
  const location = ({ querystring: 'query', headers: 'header', body: 'body', params: 'path' } as const)[
    (error.validationContext ?? 'body') as 'querystring' | 'headers' | 'body' | 'params'
  ] ?? 'body';
  return (error.validation ?? []).map((v) => {
    const missing = (v.params as { missingProperty?: string }).missingProperty;
    const name = missing ?? v.instancePath.replace(/^\//, '').split('/')[0] ?? '';
    return { in: location, name, reason: missing ? 'is required' : v.message ?? 'is invalid' };
  });
}

function toProblem(error: FastifyError | Error, requiredScope: string): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof AuthError) {
    return new HttpProblem(error.status, error.status === 403 ? 'insufficient_scope' : 'invalid_token', error.description, {
      headers: { 'www-authenticate': bearerChallenge(error, requiredScope) },
    });
  }
  if (error instanceof AcsError) {
    const { status, code, detail } = ACS_PROBLEMS[error.kind];
    return new HttpProblem(status, code, detail, { retryAfterSeconds: error.retryAfterSeconds });
  }
  if (error instanceof DatabaseUnavailableError) {
    return new HttpProblem(503, 'database_unavailable', 'The database is unavailable; retry later.', { retryAfterSeconds: 5 });
  }
  if (error instanceof IdentityCreationPendingError) {
    return new HttpProblem(503, 'acs_unavailable', 'ACS is slow to create this user\'s identity; retry shortly.', { retryAfterSeconds: 1 });
  }
  if (error instanceof KeySetUnavailableError) {
    return new HttpProblem(503, 'keys_unavailable', 'The identity provider\'s signing keys could not be read; retry later.', { retryAfterSeconds: 5 });
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const errors = invalidParams(fastifyError);
    const detail = errors.map((e) => `${e.in} parameter ${e.name} ${e.reason}`).join('; ');
    return new HttpProblem(400, 'invalid_request', detail, { errors });
  }
  const status = fastifyError.statusCode;
  if (status === 413) return new HttpProblem(413, 'payload_too_large', 'Request body is too large');
  if (status !== undefined && status >= 400 && status < 500) {
    // Fastify's own client errors (bad JSON, body too large, unsupported media type): their
    // messages describe the request, not the server.
    return new HttpProblem(status, 'invalid_request', fastifyError.message);
  }
  return new HttpProblem(500, 'internal_error', 'An unexpected error occurred.');
}

export function sendProblem(reply: FastifyReply, problem: HttpProblem, extraBody: Record<string, unknown> = {}): FastifyReply {
  const { retryAfterSeconds, headers, errors } = problem.extra;
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
  if (headers) reply.headers(headers);
  return reply
    .type('application/problem+json')
    .code(problem.status)
    .send({
      type: `urn:acs-token-service:problem:${problem.code}`,
      title: STATUS_CODES[problem.status] ?? 'Error',
      status: problem.status,
      detail: problem.status === 500 ? `${problem.detail} Request id: ${reply.request.id}.` : problem.detail,
      code: problem.code,
      instance: reply.request.id,
      ...(errors ? { errors } : {}),
      ...extraBody,
    });
}

export default fp(async function problemDetails(app, { requiredScope }: { requiredScope: string }) {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toProblem(error, requiredScope);
    if (problem.status >= 500) request.log.error({ err: error, code: problem.code }, 'request failed');
    else request.log.info({ code: problem.code, detail: problem.detail }, 'request refused');
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new HttpProblem(404, 'not_found', `No route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}.`)));

  // Every answer carries the request id that is also on every log line of the request.
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
}, { name: 'problem-details' });
