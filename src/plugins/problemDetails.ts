// One error handler and one not-found handler for the whole service: every failure leaves as
// application/problem+json (RFC 9457) with a stable `code`, and nothing internal (no stack,
// SQL or upstream body). This is the one place where errors become statuses.
import { STATUS_CODES } from 'node:http';
import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AcsError, type AcsFailureKind } from '../acs/acsErrors.js';
import { AuthError } from '../auth/authError.js';
import type { AuthConfig } from '../config.js';
import { OboError, type OboFailureKind } from '../teams/teamsOnBehalfOf.js';
import { TEAMS_TOKEN_HEADER } from '../teams/teamsTokenOwner.js';
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
  teams_token_refused: {
    status: 401, code: 'teams_token_refused',
    detail: 'ACS refused the Teams user\'s token as invalid or expired; sign the Teams user in again and send a fresh token.',
  },
  teams_token_rejected: {
    status: 400, code: 'teams_token_rejected',
    detail: 'ACS refused the exchange: the Teams token was not issued to this service\'s app (appid) for this user (oid).',
  },
};

// Retry-After when ACS sent none: throttling lasts longer than a passing outage.
const DEFAULT_RETRY_AFTER_SECONDS = { throttled: 10, unavailable: 5 } as const;

function bearerChallenge(error: AuthError, requiredScope: string): string {
  const description = error.description.replace(/["\\]/g, "'");
  if (error.status === 401) return `Bearer error="invalid_token", error_description="${description}"`;
  const scope = error.scope === null ? '' : `, scope="${error.scope ?? requiredScope}"`;
  return `Bearer error="insufficient_scope", error_description="${description}"${scope}`;
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

const OBO_PROBLEMS: Record<OboFailureKind, (aadsts: string, clientId: string) => { status: number; code: string; detail: string }> = {
  consent_required: (aadsts, clientId) => ({
    status: 403, code: 'teams_consent_required',
    detail: `An administrator must grant consent for this service's app (${clientId}) to use the delegated permissions Teams.ManageCalls and Teams.ManageChats of Azure Communication Services (${aadsts}).`,
  }),
  interaction_required: (aadsts) => ({
    status: 401, code: 'teams_interaction_required',
    detail: `Entra ID requires the user to sign in again interactively, for example for multi-factor authentication (${aadsts}); get a new token for this API with user interaction and retry.`,
  }),
  refused: (aadsts) => ({
    status: 401, code: 'teams_obo_refused',
    detail: `Entra ID refused to exchange the caller's token on its behalf (${aadsts}); get a new token for this API and retry.`,
  }),
  client_rejected: (aadsts) => ({
    status: 502, code: 'entra_rejected',
    detail: `Entra ID refused this service's credentials (${aadsts}); check AZURE_CLIENT_ID and AZURE_CLIENT_SECRET.`,
  }),
  request_rejected: (aadsts) => ({
    status: 502, code: 'entra_rejected',
    detail: `Entra ID refused the service's on-behalf-of request (${aadsts}); check the app registration's API permissions for Azure Communication Services in the user's tenant.`,
  }),
  unavailable: () => ({ status: 503, code: 'entra_unavailable', detail: 'Entra ID failed or did not answer in time; retry later.' }),
};

function toProblem(error: FastifyError | Error, auth: AuthConfig): HttpProblem {
  const { requiredScope } = auth;
  if (error instanceof HttpProblem) return error;
  if (error instanceof AuthError) {
    return new HttpProblem(error.status, error.status === 403 ? 'insufficient_scope' : 'invalid_token', error.description, {
      headers: { 'www-authenticate': bearerChallenge(error, requiredScope) },
    });
  }
  if (error instanceof AcsError) {
    const { status, code, detail } = ACS_PROBLEMS[error.kind];
    return new HttpProblem(status, code, detail, {
      retryAfterSeconds: error.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS[error.kind as keyof typeof DEFAULT_RETRY_AFTER_SECONDS],
      // The caller's own bearer token was fine: a challenge without error="invalid_token",
      // naming the header whose token was refused, so clients do not discard their token.
      ...(status === 401 ? { headers: { 'www-authenticate': `Bearer realm="${TEAMS_TOKEN_HEADER}", error_description="The Teams user token was refused."` } } : {}),
    });
  }
  if (error instanceof OboError) {
    const { status, code, detail } = OBO_PROBLEMS[error.kind](error.aadsts ?? 'no AADSTS code', auth.clientId);
    // A claims challenge (RFC 6750 + Entra's claims parameter) tells the client what to ask
    // for when it signs the user in again; without one, signing in again may change nothing.
    const challengeHeader = error.kind === 'interaction_required' && error.claims
      ? `Bearer error="insufficient_claims", error_description="The user must sign in again interactively.", claims="${Buffer.from(error.claims).toString('base64')}"`
      : 'Bearer error="invalid_token", error_description="The token cannot be exchanged on the user\'s behalf."';
    return new HttpProblem(status, code, detail, {
      ...(status === 503 ? { retryAfterSeconds: 5 } : {}),
      ...(status === 401 ? { headers: { 'www-authenticate': challengeHeader } } : {}),
    });
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
  reply.problem = problem;
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

// Refusals that come in floods, answered before any budget applies or because one ran out:
// counted by the metrics, not written to the audit trail one row each.
const NOT_AUDITED = new Set(['rate_limited', 'uri_too_long', 'payload_too_large', 'not_found']);

/** Refusals are counted, and audited by reason class (the caller only when known). */
function recordRefusal(request: FastifyRequest, problem: HttpProblem): void {
  const { server } = request;
  if (problem.code === 'invalid_token' || problem.code === 'insufficient_scope') server.metrics.authFailures.inc({ reason: problem.code });
  if (NOT_AUDITED.has(problem.code)) return;
  const user = request.user as typeof request.user | null;
  const details = { reason: problem.code, status: problem.status, route: request.routeOptions.url ?? 'unmatched' };
  // An unidentified caller (a bad token) is tallied, so that a flood costs no database work.
  if (user?.userKey) server.audit.record('request_refused', server.hashUser(user), details);
  else server.audit.tally('request_refused', details);
}

declare module 'fastify' {
  interface FastifyReply {
    /** The problem this reply answered with, if any (for the request's log line). */
    problem: HttpProblem | null;
  }
}

export default fp(async function problemDetails(app, { auth }: { auth: AuthConfig }) {
  app.decorateReply('problem', null);
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toProblem(error, auth);
    if (problem.status >= 400 && problem.status < 500) recordRefusal(request, problem);
    // A refusal is reported on the request's one log line (requestLog); a failure also here, with its error.
    if (problem.status >= 500) request.log.error({ err: error, code: problem.code }, 'request failed');
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new HttpProblem(404, 'not_found', `No route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}.`)));

  // Every answer carries the request id that is also on every log line of the request.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
}, { name: 'problem-details' });
