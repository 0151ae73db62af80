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
  app.sampleAtScrape(() => acsCircuitOpen.set(client.circuitState === 'closed' ? 0 : 1));
}, { name: 'acs', dependencies: ['metrics'], decorators: { fastify: ['metrics', 'sampleAtScrape'] } });
