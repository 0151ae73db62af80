// HTTP hardening for a JSON API: security headers (helmet's), CORS for an explicit list of
// browser origins (@fastify/cors; bearer tokens, so no credentials), and a bound on URL length
// (bodies and headers are bounded by bodyLimit and Node's 16 KiB header limit).
import type { IncomingMessage, ServerResponse } from 'node:http';
import fp from 'fastify-plugin';
import cors from '@fastify/cors';
import helmet, { type HelmetOptions } from 'helmet';
import { HttpProblem } from '../http/httpProblem.js';

export const MAX_URL_LENGTH = 2048;

/**
 * The headers helmet sets for these options. They depend on nothing in the request, so they
 * are worked out once: @fastify/helmet built helmet's middleware anew on every request, which
 * was a tenth of the cost of refusing a bad token.
 */
function securityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string) => { headers[name.toLowerCase()] = value; },
    removeHeader: () => {},
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, () => {});
  return headers;
}

export default fp(async function httpSecurity(app, { corsOrigins }: { corsOrigins: string[] }) {
  const headers = securityHeaders({
    // JSON answers need no script or style; Swagger UI (/docs) sets its own policy.
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: corsOrigins.length > 0 ? 'cross-origin' : 'same-origin' },
  });
  const headersButPolicy = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'content-security-policy'));
  // A problem+json refusal is data no browser renders or frames: beside nosniff (sendProblem
  // sets it, with no-store) it keeps only the policy that forbids any content or framing and
  // HSTS, as defence in depth; the rest were a tenth of a refusal's bytes in a flood of bad
  // tokens.
  const problemHeaders = Object.fromEntries(Object.entries(headers).filter(([name]) => name === 'content-security-policy' || name === 'strict-transport-security'));
  // Set last (onSend), so that a page with a policy of its own (Swagger UI, the demo) keeps it.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.problem != null) reply.headers(problemHeaders);
    else reply.headers(reply.hasHeader('content-security-policy') ? headersButPolicy : headers);
    done(null, payload);
  });
  // Without listed origins there is nothing to grant: no CORS hook on every request (it showed
  // in a refusal's profile), and a preflight is an unknown route (404), as it was.
  if (corsOrigins.length > 0) await app.register(cors, {
    origin: corsOrigins,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'teams-user-aad-token', 'x-request-id'],
    exposedHeaders: ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy'],
    credentials: false,
    maxAge: 600,
  });
  app.addHook('onRequest', (request, _reply, done) => {
    done(request.url.length > MAX_URL_LENGTH ? new HttpProblem(414, 'uri_too_long', `The URL is longer than ${MAX_URL_LENGTH} characters.`) : undefined);
  });
}, { name: 'http-security' });
