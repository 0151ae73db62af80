// The contract for readers: GET /openapi.json (the document as JSON) and Swagger UI at /docs.
// @fastify/swagger in static mode only serves the document; route schemas come from
// fastify-openapi-glue, built from the same openapi.yaml. Nothing served here depends on the
// request: a page or document built from the Host header, kept by a shared cache, would send
// other users' "Try it out" calls (with their bearer tokens) to that host.
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from '../config/index.js';

export default fp(async function documentation(app, { contract, docs }: { contract: Record<string, unknown>; docs: Config['docs'] }) {
  if (!docs.enabled) return;
  // Encapsulated, so that its hook touches these routes only.
  await app.register(async (scope) => {
    // Set last (onSend), over @fastify/static's own Cache-Control on Swagger UI's files.
    scope.addHook('onSend', (_request, reply, payload, done) => {
      reply.header('cache-control', 'no-store');
      done(null, payload);
    });
    await scope.register(swagger, { mode: 'static', specification: { document: structuredClone(contract) as never } });
    // The configured public URL, else a relative server: the origin that served the page.
    const servers = [{ url: docs.publicBaseUrl ?? '/' }];
    await scope.register(swaggerUi, {
      routePrefix: '/docs',
      // Its own Content-Security-Policy (hashes of its inline scripts) replaces the API's strict
      // one. Swagger UI also sets inline styles at run time, which style hashes cannot cover:
      // styles only (never scripts) may be inline on these pages.
      staticCSP: true,
      transformStaticCSP: (header: string) => header.replace(/style-src [^;]*;/, "style-src 'self' 'unsafe-inline';"),
      transformSpecification: (document) => ({ ...document, servers }),
    });
    scope.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => reply.send(scope.swagger()));
  });
}, { name: 'documentation' });
