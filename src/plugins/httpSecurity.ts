// HTTP hardening for a JSON API: security headers (@fastify/helmet), CORS for an explicit list
// of browser origins (@fastify/cors; bearer tokens, so no credentials), and a bound on URL
// length (bodies and headers are bounded by bodyLimit and Node's 16 KiB header limit).
import fp from 'fastify-plugin';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import { HttpProblem } from '../httpProblem.js';

export const MAX_URL_LENGTH = 2048;

export default fp(async function httpSecurity(app, { corsOrigins }: { corsOrigins: string[] }) {
  await app.register(helmet, {
    // JSON answers need no script or style; Swagger UI (/docs) sets its own policy.
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: corsOrigins.length > 0 ? 'cross-origin' : 'same-origin' },
  });
  await app.register(cors, {
    origin: corsOrigins.length > 0 ? corsOrigins : false,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'teams-user-aad-token', 'x-request-id'],
    exposedHeaders: ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy'],
    credentials: false,
    maxAge: 600,
  });
  app.addHook('onRequest', async (request) => {
    if (request.url.length > MAX_URL_LENGTH) throw new HttpProblem(414, 'uri_too_long', `The URL is longer than ${MAX_URL_LENGTH} characters.`);
  });
}, { name: 'http-security' });
