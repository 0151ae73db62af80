// The ACS identity client, one for the process.
import fp from 'fastify-plugin';
import type { AcsConfig } from '../acs/acsSettings.js';
import { AcsIdentityClient } from '../acs/acsIdentityClient.js';

/** How long after listening the SDK's modules load (a start's first probes are answered by then). */
const SDK_PRELOAD_DELAY_MS = 1000;

declare module 'fastify' {
  interface FastifyInstance {
    acs: AcsIdentityClient;
  }
}

export default fp(async function acs(app, { config }: { config: AcsConfig }) {
  const { acsCalls, acsDuration, acsCircuitOpen } = app.metrics;
  const client = new AcsIdentityClient(config, (operation, outcome, seconds) => {
    acsCalls.inc({ operation, outcome });
    acsDuration.observe({ operation }, seconds);
  });
  app.decorate('acs', client);
  // The SDK's modules load a moment after the server listens, not before nor at once: loading
  // them blocks the event loop, and a start's first /readyz (probes come at once) need not wait
  // behind them. The first call usually finds them loaded; one that comes sooner loads them.
  let preloading: NodeJS.Timeout | undefined;
  app.addHook('onListen', (done) => {
    preloading = setTimeout(() => {
      client.preload().catch((error: unknown) => app.log.warn({ err: error }, 'ACS client not loaded yet: tried again at the first call'));
    }, SDK_PRELOAD_DELAY_MS).unref();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    clearTimeout(preloading);
    done();
  });
  app.sampleAtScrape(() => acsCircuitOpen.set(client.circuitState === 'closed' ? 0 : 1));
}, { name: 'acs', dependencies: ['metrics'], decorators: { fastify: ['metrics', 'sampleAtScrape'] } });
