// The contract for readers: GET /openapi.json (the document as JSON) and Swagger UI at /docs.
// @fastify/swagger in static mode only serves the document; route schemas come from
// fastify-openapi-glue, built from the same openapi.yaml.
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

export default fp(async function documentation(app, { contract }: { contract: Record<string, unknown> }) {
  await app.register(swagger, { mode: 'static', specification: { document: structuredClone(contract) as never } });
  // Its own Content-Security-Policy (hashes of its inline parts) replaces the API's strict one.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => reply.send(app.swagger()));
}, { name: 'documentation' });
