// Shutdown in two steps: `beginShutdown()` turns /readyz to 503 (so load balancers stop
// sending requests) while requests are still served; after the configured delay the app
// closes: no new connections, in-flight requests finish, pools close.
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** True once shutdown has begun; /readyz then answers 503. */
    readonly shuttingDown: boolean;
    /** Marks the service as shutting down, waits `delayMs`, then closes it. */
    shutdown(delayMs: number): Promise<void>;
  }
}

/**
 * How long in-flight requests may take to finish once the service stops accepting (server.ts
 * exits after SHUTDOWN_DELAY_MS plus this; a Kubernetes grace period must cover both).
 */
export const IN_FLIGHT_GRACE_MS = 10_000;

export default fp(async function lifecycle(app) {
  let shuttingDown = false;
  app.decorate('shuttingDown', { getter: () => shuttingDown });
  // Once shutting down, every answer closes its connection: keep-alive clients reconnect
  // (to another replica), and a connection busy at close time does not hold the exit.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (shuttingDown) reply.header('connection', 'close');
    done(null, payload);
  });
  app.decorate('shutdown', async (delayMs: number) => {
    shuttingDown = true;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    await app.close();
  });
}, { name: 'lifecycle' });
