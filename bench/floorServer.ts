// The floor of the stack: a bare Fastify route, in a process like the service's, that only
// verifies the same RS256 token with the same key (fast-jwt, as @fastify/jwt uses). Prints
// its URL as one JSON line. BENCH_PUBLIC_KEY is the PEM public key.
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
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url })}\n`);
