// The HTTP server's limits, from the configuration: how many connections it holds at once, and
// how long a client may take over its headers and its whole request. Node enforces the headers
// and request timeouts on a timer (connectionsCheckingInterval, 30 s by default), so a client
// past its deadline is closed only at the next check: the interval is derived here to keep that
// lateness small.
import type { Server } from 'node:http';
import type { Config } from './config.js';

/** How often Node looks for requests past their deadline: a timeout is enforced at most this late. */
export function connectionsCheckingIntervalMs(limits: Config['http']): number {
  return Math.min(1000, Math.ceil(limits.headersTimeoutMs / 10));
}

/** Fastify's server options for these limits (Fastify hands `http` to http.createServer). */
export function httpServerOptions(limits: Config['http']) {
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
