// The server span of each request, made by @fastify/otel: named by the route's path template,
// with the contract's operationId, and, for a refusal, its problem code as error.type (the
// body's code; never anything else of the body). Probes and /metrics are not traced.
import { subscribe } from 'node:diagnostics_channel';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

export const OPERATION_ID = 'openapi.operation_id';

// The decision for the request whose onRequest hooks are running now: set by the gate's hook,
// read (and cleared) by @fastify/otel's, which runs right after it in the same call.
let admitted = false;

/**
 * @fastify/otel, with, when `isSampled` is given, a gate before it: a request `isSampled` (given
 * its traceparent header) does not keep makes no span, context or trace id at all.
 */
export function fastifyInstrumentation(isSampled?: (traceparent: string | undefined) => boolean): FastifyOtelInstrumentation {
  if (isSampled) {
    // Subscribed before the instrumentation below is made (which subscribes too): on each new
    // Fastify instance this hook is added first, so it runs before @fastify/otel's.
    subscribe('fastify.initialization', (message) => {
      (message as { fastify: FastifyInstance }).fastify.addHook('onRequest', (request, _reply, done) => {
        const { traceparent } = request.headers;
        admitted = isSampled(typeof traceparent === 'string' ? traceparent : undefined);
        done();
      });
    });
  }
  return new FastifyOtelInstrumentation({
    registerOnInitialization: true,
    // One server span a request: its children are the statements and outbound calls it made,
    // not a span for each of Fastify's hooks.
    instrumentHooks: false,
    instrumentHandler: false,
    // Called with a route's options as it is registered (they hold its handler), and with the
    // request's URL, query string included, and method as a request arrives.
    ignorePaths: (route) => {
      if (UNTRACED.has(route.url.split('?')[0]!)) return true;
      if (!isSampled || 'handler' in route) return false;
      const traced = admitted;
      admitted = false;
      return !traced;
    },
    requestHook: (span, request) => {
      const { url, schema } = request.routeOptions;
      if (url) span.updateName(`${request.method} ${url}`);
      // @fastify/otel sets the whole request URL, query string included.
      span.setAttribute('url.path', request.url.split('?')[0]!);
      const operationId = (schema as { operationId?: unknown } | undefined)?.operationId;
      if (typeof operationId === 'string') span.setAttribute(OPERATION_ID, operationId);
    },
  });
}

function problemCode(reply: FastifyReply, payload: unknown): string | undefined {
  if (typeof payload !== 'string' || !String(reply.getHeader('content-type')).startsWith('application/problem+json')) return undefined;
  try {
    const { code } = JSON.parse(payload) as { code?: unknown };
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

const FLUSH_ON_CLOSE_MS = 2_000;

function boundedFlush(flush: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => { timer = setTimeout(resolve, FLUSH_ON_CLOSE_MS).unref(); });
  return Promise.race([flush().catch(() => undefined), bound]).finally(() => clearTimeout(timer));
}

/** Adds, to every Fastify instance made from now on, the problem code hook and `onClose`. */
export function onEveryFastify(onClose: () => Promise<void>): void {
  subscribe('fastify.initialization', (message) => {
    const { fastify } = message as { fastify: FastifyInstance };
    fastify.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) => {
      const code = reply.statusCode >= 400 ? problemCode(reply, payload) : undefined;
      if (code) request.opentelemetry?.().span?.setAttribute('error.type', code);
      done(null, payload);
    });
    // Spans and metrics still waiting are sent before the process exits (added first, this hook
    // runs after the app's own onClose work, whose spans it sends too); an exporter that cannot
    // send must neither fail the close nor hold it past a short bound.
    fastify.addHook('onClose', () => boundedFlush(onClose));
  });
}
