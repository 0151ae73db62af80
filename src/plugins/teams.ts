// The on-behalf-of client for Teams users, when the service has a client secret; without one,
// the Teams exchange needs the teams-user-aad-token header.
import fp from 'fastify-plugin';
import type { AuthConfig } from '../auth/authSettings.js';
import { TeamsOnBehalfOf } from '../teams/teamsOnBehalfOf.js';

declare module 'fastify' {
  interface FastifyInstance {
    teamsOnBehalfOf: TeamsOnBehalfOf | undefined;
  }
}

export default fp(async function teams(app, { auth }: { auth: AuthConfig }) {
  const { clientSecret } = auth;
  const gauge = app.metrics.teamsOboCacheEntries;
  const reportSizes = ({ teamsTokens, msal }: { teamsTokens: number; msal: number }) => {
    gauge.set({ cache: 'teams_tokens' }, teamsTokens);
    gauge.set({ cache: 'msal' }, msal);
  };
  if (clientSecret) reportSizes({ teamsTokens: 0, msal: 0 });
  app.decorate('teamsOnBehalfOf', clientSecret ? new TeamsOnBehalfOf({ ...auth, clientSecret }, app.identityProviderHttp, reportSizes) : undefined);
}, { name: 'teams', dependencies: ['authentication', 'metrics'], decorators: { fastify: ['metrics', 'identityProviderHttp'] } });
