// The floor of the stack: a bare Fastify route, in a process like the service's, that only
// verifies the same RS256 token with the same key (fast-jwt, as @fastify/jwt uses). Prints
// its URL as one JSON line. BENCH_PUBLIC_KEY is the PEM public key. GET /refuse answers as the
// service refuses a forged token (its status, headers and body) and does nothing else: what a
// refusal costs in Fastify alone, for bench/compare.ts. GET /node-http-401 answers the same bytes
// from Node's HTTP server itself, before Fastify sees the request: what any answer costs a
// Node.js process, whatever framework it runs (and the least a refusal could cost).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify from 'fastify';
import { createVerifier } from 'fast-jwt';

const verify = createVerifier({ key: process.env.BENCH_PUBLIC_KEY!, algorithms: ['RS256'] });
const REFUSAL_HEADERS = {
  'ratelimit-limit': '1000000', 'ratelimit-remaining': '999999', 'ratelimit-reset': '60',
  'www-authenticate': 'Bearer error="invalid_token", error_description="The token is invalid: The token signature is invalid."',
  'cache-control': 'no-store', 'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none';frame-ancestors 'none'", 'strict-transport-security': 'max-age=31536000; includeSubDomains',
};
const REFUSAL_BODY = '{"type":"urn:acs-token-service:problem:invalid_token","title":"Unauthorized","status":401,"detail":"The token is invalid: The token signature is invalid.","code":"invalid_token"}';

let answered = 0;
function answerWithNodeHttp(response: ServerResponse): void {
  response.writeHead(401, {
    ...REFUSAL_HEADERS, 'x-request-id': `${Date.now()}-${++answered}`,
    'content-type': 'application/problem+json; charset=utf-8', 'content-length': Buffer.byteLength(REFUSAL_BODY),
  });
  response.end(REFUSAL_BODY);
}

const app = Fastify({
  logger: false,
  // One string comparison in front of the Fastify routes: what it adds to their figures is lost in the noise.
  serverFactory: (handler) => createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.url === '/node-http-401') answerWithNodeHttp(response);
    else handler(request, response);
  }),
});
app.get('/verify', async (request, reply) => {
  try {
    const payload = verify(String(request.headers.authorization).slice(7)) as { oid: string };
    return { oid: payload.oid };
  } catch {
    return reply.code(401).send({ error: 'invalid_token' });
  }
});
app.get('/refuse', (_request, reply) => {
  reply.code(401).headers({ ...REFUSAL_HEADERS, 'x-request-id': `${Date.now()}-1` }).type('application/problem+json').send(REFUSAL_BODY);
});
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url })}\n`);
