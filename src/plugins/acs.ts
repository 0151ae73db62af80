// The ACS identity client, one for the process.
import fp from 'fastify-plugin';
import type { AcsConfig } from '../config.js';
import { AcsIdentityClient } from '../acs/acsIdentityClient.js';

declare module 'fastify' {
  interface FastifyInstance {
    acs: AcsIdentityClient;
  }
}

export default fp(async function acs(app, { config }: { config: AcsConfig }) {
  app.decorate('acs', new AcsIdentityClient(config));
}, { name: 'acs' });
