// Every error → the problem it is answered with: status, stable `code`, and nothing internal
// (no stack, SQL or upstream body). This is the one place where errors become statuses.
import type { FastifyError } from 'fastify';
import { AcsError } from '../acs/acsErrors.js';
import { ACS_SCOPES } from '../acs/acsScopes.js';
import { AuthError } from '../auth/authError.js';
import { KeySetUnavailableError } from '../auth/signingKeys.js';
import type { AuthConfig } from '../auth/authSettings.js';
import { DatabaseUnavailableError } from '../db/databaseErrors.js';
import { IdentityCreationPendingError } from '../identities/identityCreation.js';
import { OboError } from '../teams/teamsOnBehalfOf.js';
import { TEAMS_TOKEN_HEADER } from '../teams/teamsTokenOwner.js';
import { HttpProblem, markShared, type InvalidParam } from './httpProblem.js';
import { ACS_PROBLEMS, DEFAULT_RETRY_AFTER_SECONDS, OBO_PROBLEMS } from './problemCodes.js';

function bearerChallenge(error: AuthError, requiredScope: string): string {
  const description = error.description.replace(/["\\]/g, "'");
  if (error.status === 401) return `Bearer error="invalid_token", error_description="${description}"`;
  const scope = error.scope === null ? '' : `, scope="${error.scope ?? requiredScope}"`;
  return `Bearer error="insufficient_scope", error_description="${description}"${scope}`;
}

/**
 * A refused token's problem, made once per description and then shared (a problem is never
 * changed once made): bad tokens come in floods with a handful of descriptions, and each one
 * cost a problem and its escaped challenge. The 401 challenge depends on nothing else.
 */
const invalidTokenProblems = new Map<string, HttpProblem>();
const MAX_INVALID_TOKEN_PROBLEMS = 64;

function invalidTokenProblem(error: AuthError, requiredScope: string): HttpProblem {
  let problem = invalidTokenProblems.get(error.description);
  if (problem === undefined) {
    // Descriptions come from a fixed set and the configuration; the bound is a safety net.
    if (invalidTokenProblems.size >= MAX_INVALID_TOKEN_PROBLEMS) invalidTokenProblems.clear();
    problem = markShared(new HttpProblem(401, 'invalid_token', error.description, { headers: { 'www-authenticate': bearerChallenge(error, requiredScope) } }));
    invalidTokenProblems.set(error.description, problem);
  }
  return problem;
}

/** Parameters whose contract pattern is a list a reader should see in words, not as a regular expression. */
const PATTERN_REASONS = new Map([
  ['scopes', `must be a comma-separated list of ${ACS_SCOPES.join(', ')}, without spaces`],
]);

/** Fastify/Ajv validation errors → which parameter was wrong, and why. */
function invalidParams(error: FastifyError): InvalidParam[] {
  const location = ({ querystring: 'query', headers: 'header', body: 'body', params: 'path' } as const)[
    error.validationContext ?? 'body'
  ] ?? 'body';
  return (error.validation ?? []).map((v) => {
    const missing = (v.params as { missingProperty?: string }).missingProperty;
    const name = missing ?? v.instancePath.replace(/^\//, '').split('/')[0] ?? '';
    const reason = missing ? 'is required' : (v.keyword === 'pattern' ? PATTERN_REASONS.get(name) : undefined) ?? v.message ?? 'is invalid';
    return { in: location, name, reason };
  });
}

export function toProblem(error: FastifyError | Error, auth: AuthConfig): HttpProblem {
  const { requiredScope } = auth;
  if (error instanceof HttpProblem) return error;
  if (error instanceof AuthError) {
    if (error.status === 401) return invalidTokenProblem(error, requiredScope);
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
