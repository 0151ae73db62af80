// The service as a Fastify instance built from an explicit configuration: routes, validation
// and serialization come from openapi.yaml (fastify-openapi-glue's parser, src/http/contractRoutes.ts),
// handlers are matched to the contract's operationIds, and /api routes authenticate in onRequest,
// before any validation.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { loadContract, type OperationHandlers, type OperationId } from './http/contract.js';
import { loadContractRoutes } from './http/contractRoutes.js';
import { httpServerOptions, limitConnections } from './httpServerLimits.js';
import { logDestination } from './http/logDestination.js';
import { censorNestedCredentials, LOG_CENSOR, REDACTED_LOG_PATHS } from './http/logRedaction.js';
import { activeSpanFields, mergeSpanFields } from './http/logTraceContext.js';
import acs from './plugins/acs.js';
import admin from './plugins/admin.js';
import audit from './plugins/audit.js';
import contractRoutes from './plugins/contractRoutes.js';
import authentication from './plugins/authentication.js';
import database from './plugins/database.js';
import demo from './plugins/demo.js';
import documentation from './plugins/documentation.js';
import lifecycle from './plugins/lifecycle.js';
import loadShedding from './plugins/loadShedding.js';
import metrics from './plugins/metrics.js';
import httpSecurity from './plugins/httpSecurity.js';
import identities from './plugins/identities.js';
import rateLimits from './plugins/rateLimits.js';
import refusals from './plugins/refusals.js';
import requestLog from './plugins/requestLog.js';
import problemDetails from './plugins/problemDetails.js';
import probes from './plugins/probes.js';
import teams from './plugins/teams.js';
import { rejectUnknownQueryParameters } from './http/queryParameters.js';
import { fastifyTrustProxy } from './trustProxy.js';
import type { EntraEmulator } from '../emulators/entraEmulator.js';
import { adminHandlers } from './routes/adminRoutes.js';
import { healthHandlers } from './routes/healthRoutes.js';
import { teamsHandlers } from './routes/teamsRoutes.js';
import { tokenHandlers } from './routes/tokenRoutes.js';
import { userHandlers } from './routes/userRoutes.js';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface BuildOptions {
  /** Where log lines go (default: stdout). Redaction and level still apply. */
  logStream?: { write(line: string): void };
  /** Local mode only: the Entra ID emulator that GET /local/token mints user tokens with. */
  localTokenIssuer?: EntraEmulator;
  /** This replica's clock, in ms since the epoch (default Date.now; tests shift it). */
  now?: () => number;
}

/** Whether an operation of the contract requires a bearer token (its `security`, or the default). */
function requiresAuthentication(contract: Record<string, unknown>, path: string, method: string): boolean {
  const { paths, security: byDefault } = contract as { paths?: Record<string, Record<string, { security?: object[] } | undefined>>; security?: object[] };
  const security = paths?.[path]?.[method.toLowerCase()]?.security ?? byDefault ?? [];
  return security.some((requirement) => Object.keys(requirement).length > 0);
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: REDACTED_LOG_PATHS, censor: LOG_CENSOR },
      formatters: { log: censorNestedCredentials },
      // The active trace span's ids, when OpenTelemetry is on (src/http/logTraceContext.ts).
      mixin: activeSpanFields,
      mixinMergeStrategy: mergeSpanFields,
      stream: options.logStream ?? logDestination(),
    },
    // A client may bring its own request id for correlation, if it is a plain short string.
    requestIdHeader: false,
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
    },
    // One line per request, written by the requestLog plugin (with route, latency, user).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024,
    // HEAD /api/token would issue a token only to drop it; the contract has no HEAD routes.
    exposeHeadRoutes: false,
    // Off by default: only behind a proxy that sets X-Forwarded-For may it name the client IP.
    trustProxy: fastifyTrustProxy(config.trustProxy),
    routerOptions: { maxParamLength: 200 },
    // Timeouts of slow clients and idle keep-alive connections (HTTP_* settings).
    ...httpServerOptions(config.http),
  });
  // Set before listening: the server exists once Fastify() returns.
  limitConnections(app.server, config.http.maxConnections);

  // No operation of v1 takes a request body: whatever a client sends (up to bodyLimit, else
  // 413) is read and ignored, so that a stray body or content type is never an error.
  const ignoreBody = (_request: unknown, _body: unknown, done: (error: null, body: undefined) => void) => done(null, undefined);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'application/problem+json'], { parseAs: 'buffer' }, ignoreBody);
  app.addContentTypeParser('*', { parseAs: 'buffer' }, ignoreBody);

  const contract = loadContract();
  // Each plugin names the plugins and decorators it reads: out of order, the app does not start.
  await app.register(metrics, { config: config.metrics, httpLimits: config.http });
  await app.register(problemDetails, { auth: config.auth });
  // Local mode: before any route or other hook does anything for a request of another site.
  // Loaded only then: a configured service never loads local mode's code.
  if (options.localTokenIssuer) await app.register((await import('./local/loopbackHostOnly.js')).default);
  await app.register(lifecycle);
  await app.register(probes, { port: config.probePort, host: config.host, httpLimits: config.http });
  await app.register(database, { config });
  await app.register(audit, { config: config.audit });
  await app.register(acs, { config: config.acs });
  await app.register(authentication, { auth: config.auth });
  await app.register(refusals);
  await app.register(requestLog);
  await app.register(rateLimits, { config: config.rateLimits });
  await app.register(httpSecurity, { corsOrigins: config.corsOrigins });
  // Its hook runs after the ones above (so a shed answer has the CORS headers), and
  // before the routes' own (authentication, rate limits): an overloaded replica sheds at once.
  await app.register(loadShedding, { config: config.overload });
  await app.register(teams, { auth: config.auth });
  await app.register(identities, { acs: config.acs, deletions: config.deletions, now: options.now });
  await app.register(admin, { config });
  await app.register(documentation, { contract, docs: config.docs });

  const handlers: OperationHandlers = {
    ...tokenHandlers(config.acs, app.identities),
    ...teamsHandlers(config.auth),
    ...userHandlers(app.identities, app.identityDeletions),
    ...healthHandlers(),
    ...adminHandlers(app.adminLookups, app.erasureReceipts, app.adminDeletion, app.hashUser, app.adminOffboardings),
  };
  await app.register(contractRoutes, {
    routes: await loadContractRoutes(contract),
    routeOptions: ({ operationId, method, openapiPath: path }) => {
      const handler = handlers[operationId as OperationId];
      if (!handler) throw new Error(`openapi.yaml names operation ${operationId}, which has no handler`);
      const { perIp, perUser } = app.rateLimitHooks;
      return {
        handler: handler as never,
        // Cheapest first: a token verified before, else the IP budget and the full check; then
        // the user's budget.
        // Admin routes: operators' applications only (plugins/admin.ts), never a user's token.
        onRequest: path.startsWith('/admin/') ? app.adminHooks
          : requiresAuthentication(contract, path, method) ? [app.recogniseVerifiedToken, perIp, app.authenticate, perUser] : [],
        // The probes ignore a query string: a probe's URL is not worth failing over.
        preValidation: path.startsWith('/api/') || path.startsWith('/admin/') ? [rejectUnknownQueryParameters(contract, path, method)] : [],
      };
    },
  });

  if (options.localTokenIssuer) await app.register((await import('./local/localTokenRoute.js')).default, { entra: options.localTokenIssuer });
  if (options.localTokenIssuer || config.demo.enabled) {
    await app.register(demo, { mode: options.localTokenIssuer ? 'local' : 'entra', auth: config.auth, demo: config.demo });
  }

  // Read the signing keys early, so the first request and /readyz need not wait for them.
  app.addHook('onReady', async () => {
    app.signingKeys.load().catch((error: unknown) => app.log.warn({ err: error }, 'signing keys not loaded yet'));
  });
  return app;
}
