// The contract for readers: GET /openapi.json (the document as JSON) and Swagger UI at /docs.
// @fastify/swagger in static mode only serves the document; route schemas come from
// fastify-openapi-glue, built from the same openapi.yaml. Nothing served here depends on the
// request: a page or document built from the Host header, kept by a shared cache, would send
// other users' "Try it out" calls (with their bearer tokens) to that host.
// The pages are served by a Fastify instance of their own, built at the first request for one of
// them: a service whose docs nobody reads never loads @fastify/swagger, Swagger UI, its static
// files or the YAML parser they use (routes cannot be added to the app once it has started).
import fp from 'fastify-plugin';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';

// The inner answer's headers that describe its own (injected) connection, not this one.
const CONNECTION_HEADERS = new Set(['content-length', 'connection', 'keep-alive', 'transfer-encoding', 'date']);

async function buildPages(contract: Record<string, unknown>, docs: Config['docs'], log: FastifyBaseLogger): Promise<FastifyInstance> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([import('@fastify/swagger'), import('@fastify/swagger-ui')]);
  const pages = Fastify({ loggerInstance: log, logController: new LogController({ disableRequestLogging: true }), exposeHeadRoutes: false });
  // The configured public URL, else a relative server: the origin that served the page or
  // document (the contract's own server is a development machine's). Swagger UI and
  // /openapi.json, which client generators read, name the same.
  const servers = [{ url: docs.publicBaseUrl ?? '/' }];
  await pages.register(swagger, { mode: 'static', specification: { document: { ...structuredClone(contract), servers } as never } });
  await pages.register(swaggerUi, {
    routePrefix: '/docs',
    // Its own Content-Security-Policy (hashes of its inline scripts) replaces the API's strict
    // one. Swagger UI also sets inline styles at run time, which style hashes cannot cover:
    // styles only (never scripts) may be inline on these pages.
    staticCSP: true,
    transformStaticCSP: (header: string) => header.replace(/style-src [^;]*;/, "style-src 'self' 'unsafe-inline';"),
  });
  pages.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => reply.send(pages.swagger()));
  await pages.ready();
  return pages;
}

export default fp(async function documentation(app, { contract, docs }: { contract: Record<string, unknown>; docs: Config['docs'] }) {
  if (!docs.enabled) return;
  let pages: Promise<FastifyInstance> | undefined;
  const loadPages = () => {
    // A failed load (it should not) is tried again at the next request.
    pages ??= buildPages(contract, docs, app.log.child({ plugin: 'documentation' })).catch((error: unknown) => {
      pages = undefined;
      throw error;
    });
    return pages;
  };
  app.addHook('onClose', async () => {
    await (await pages?.catch(() => undefined))?.close();
  });

  // Answers by path: the pages do not depend on the request, and the few that exist (the
  // document, Swagger UI's files) are then read into memory once, not once per request.
  const answers = new Map<string, { statusCode: number; headers: Record<string, string | string[]>; body: Buffer }>();
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]!;
    let answer = answers.get(path);
    if (answer === undefined) {
      const inner = await (await loadPages()).inject({ method: 'GET', url: path });
      // The app's own 404 (problem+json), as for any unknown URL or a file the pages refuse.
      if (inner.statusCode >= 400 && inner.statusCode < 500) return reply.callNotFound();
      if (inner.statusCode >= 500) throw new Error(`the documentation pages answered ${inner.statusCode} for ${path}`);
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(inner.headers)) {
        if (value !== undefined && !CONNECTION_HEADERS.has(name)) headers[name] = value as string | string[];
      }
      answer = { statusCode: inner.statusCode, headers, body: inner.rawPayload };
      answers.set(path, answer);
    }
    return reply.code(answer.statusCode).headers(answer.headers).send(answer.body);
  };
  // Encapsulated, so that its hook touches these routes only.
  await app.register(async (scope) => {
    // Set last (onSend), over @fastify/static's own Cache-Control on Swagger UI's files.
    scope.addHook('onSend', (_request, reply, payload, done) => {
      reply.header('cache-control', 'no-store');
      done(null, payload);
    });
    for (const url of ['/openapi.json', '/docs', '/docs/*']) scope.get(url, { schema: { hide: true } }, forward);
  });
}, { name: 'documentation' });
