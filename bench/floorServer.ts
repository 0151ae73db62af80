// The floor of the stack: a bare Fastify route, in a process like the service's, that only
// verifies the same RS256 token with the same key (fast-jwt, as @fastify/jwt uses). Prints
// its URL as one JSON line. BENCH_PUBLIC_KEY is the PEM public key. GET /refuse answers as the
// service refuses a forged token (its status, headers and body) and does nothing else: what a
// refusal costs in Fastify alone, for bench/compare.ts.
import Fastify from 'fastify';
import { createVerifier } from 'fast-jwt';

const verify = createVerifier({ key: process.env.BENCH_PUBLIC_KEY!, algorithms: ['RS256'] });
const app = Fastify({ logger: false });
app.get('/verify', async (request, reply) => {
  try {
    const payload = verify(String(request.headers.authorization).slice(7)) as { oid: string };
    return { oid: payload.oid };
  } catch {
    return reply.code(401).send({ error: 'invalid_token' });
  }
});
app.get('/refuse', (_request, reply) => {
  reply.code(401).headers({
    'ratelimit-limit': '1000000', 'ratelimit-remaining': '999999', 'ratelimit-reset': '60',
    'www-authenticate': 'Bearer error="invalid_token", error_description="The token is invalid: The token signature is invalid."',
    'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-request-id': `${Date.now()}-1`,
    'content-security-policy': "default-src 'none';frame-ancestors 'none'", 'strict-transport-security': 'max-age=31536000; includeSubDomains',
  }).type('application/problem+json').send('{"type":"urn:acs-token-service:problem:invalid_token","title":"Unauthorized","status":401,"detail":"The token is invalid: The token signature is invalid.","code":"invalid_token"}');
});
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url })}\n`);
