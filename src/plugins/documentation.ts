// The contract for readers: GET /openapi.json (the document as JSON) and Swagger UI at /docs.
// @fastify/swagger in static mode only serves the document; route schemas come from
// fastify-openapi-glue, built from the same openapi.yaml.
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

export default fp(async function documentation(app, { contract }: { contract: Record<string, unknown> }) {
  await app.register(swagger, { mode: 'static', specification: { document: structuredClone(contract) as never } });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // Its own Content-Security-Policy (hashes of its inline scripts) replaces the API's strict
    // one. Swagger UI also sets inline styles at run time, which style hashes cannot cover:
    // styles only (never scripts) may be inline on these pages.
    staticCSP: true,
    transformStaticCSP: (header: string) => header.replace(/style-src [^;]*;/, "style-src 'self' 'unsafe-inline';"),
    // "Try it out" calls the service that served the page, wherever it runs.
    transformSpecification: (document, request) => ({ ...document, servers: [{ url: `${request.protocol}://${request.host}` }] }),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => reply.send(app.swagger()));
}, { name: 'documentation' });
