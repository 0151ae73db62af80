// The HTTP server's limits, from the configuration: how many connections it holds at once, and
// how long a client may take over its headers and its whole request. Node enforces the headers
// and request timeouts on a timer (connectionsCheckingInterval, 30 s by default), so a client
// past its deadline is closed only at the next check: the interval is derived here to keep that
// lateness small.
import type { Server } from 'node:http';
import { Type, type Static } from 'typebox';

/** Limits of the HTTP server: how many connections, and how long a client may take. */
export interface HttpServerLimits {
  /** Connections open at once; beyond it, a new connection is closed at once. */
  maxConnections: number;
  /** Bound on receiving a request's headers, from its first byte (or the connection's start). */
  headersTimeoutMs: number;
  /** Bound on receiving a whole request, headers and body. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept (longer than load balancers' idle timeouts). */
  keepAliveTimeoutMs: number;
}

export const httpServerLimitsSchema = Type.Object({
  HTTP_MAX_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 100000, default: 1000 }),
  HTTP_HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 60000, default: 10000 }),
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 300000, default: 30000 }),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600000, default: 72000 }),
});

/** The HTTP_* settings; each problem goes to `problems`. */
export function httpServerLimits(raw: Static<typeof httpServerLimitsSchema>, problems: string[]): HttpServerLimits {
  if (raw.HTTP_HEADERS_TIMEOUT_MS > raw.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(`HTTP_HEADERS_TIMEOUT_MS (${raw.HTTP_HEADERS_TIMEOUT_MS}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${raw.HTTP_REQUEST_TIMEOUT_MS}): the headers are part of the request`);
  }
  return Object.freeze({
    maxConnections: raw.HTTP_MAX_CONNECTIONS,
    headersTimeoutMs: raw.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: raw.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: raw.HTTP_KEEP_ALIVE_TIMEOUT_MS,
  });
}

/** How often Node looks for requests past their deadline: a timeout is enforced at most this late. */
export function connectionsCheckingIntervalMs(limits: HttpServerLimits): number {
  return Math.min(1000, Math.ceil(limits.headersTimeoutMs / 10));
}

/** Fastify's server options for these limits (Fastify hands `http` to http.createServer). */
export function httpServerOptions(limits: HttpServerLimits) {
  return {
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // No inactivity timeout on top: the deadlines above bound a client, and an inactivity
    // timeout would also cut a response that is waiting for ACS.
    connectionTimeout: 0,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      // Also here: Node checks headersTimeout <= requestTimeout when it creates the server.
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingIntervalMs(limits),
    },
  };
}

// At most one sweep of idle connections per this long, however many connections are dropped.
const IDLE_SWEEP_INTERVAL_MS = 1000;

/**
 * Bounds the connections `server` holds at once: beyond `maxConnections`, Node closes a new
 * connection as soon as it is accepted (and emits 'drop'). When that happens, idle keep-alive
 * connections are closed too (as nginx does when it runs out of connections), so that one
 * cheap request per connection cannot hold a slot for the whole keep-alive timeout; requests
 * in progress are not touched.
 */
export function limitConnections(server: Server, maxConnections: number): void {
  server.maxConnections = maxConnections;
  let lastSweep = 0;
  server.on('drop', () => {
    const now = Date.now();
    if (now - lastSweep < IDLE_SWEEP_INTERVAL_MS) return;
    lastSweep = now;
    server.closeIdleConnections();
  });
}
