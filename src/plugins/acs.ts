// The ACS identity client, one for the process.
import fp from 'fastify-plugin';
import type { AcsConfig } from '../acs/acsSettings.js';
import { AcsIdentityClient } from '../acs/acsIdentityClient.js';

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
  // The SDK's modules load once the server listens, not before: a start (and its first /readyz)
  // need not wait for them, and the first call usually finds them loaded.
  app.addHook('onListen', (done) => {
    client.preload().catch((error: unknown) => app.log.warn({ err: error }, 'ACS client not loaded yet: tried again at the first call'));
    done();
  });
  app.sampleAtScrape(() => acsCircuitOpen.set(client.circuitState === 'closed' ? 0 : 1));
}, { name: 'acs', dependencies: ['metrics'], decorators: { fastify: ['metrics', 'sampleAtScrape'] } });
