// exchangeTeamsToken: an ACS token for a Teams user (Custom Teams Endpoint). The Teams user's
// Entra token comes in a header, or is obtained on the caller's behalf; it must be the
// caller's own, and it is neither stored nor logged.
import type { AuthConfig } from '../auth/authSettings.js';
import type { OperationHandler } from '../http/contract.js';
import { extractBearerToken } from '../auth/bearerToken.js';
import { HttpProblem } from '../http/httpProblem.js';
import { TEAMS_TOKEN_HEADER, teamsTokenOwner } from '../teams/teamsTokenOwner.js';

export function teamsHandlers(auth: AuthConfig): { exchangeTeamsToken: OperationHandler<'exchangeTeamsToken'> } {
  return {
    async exchangeTeamsToken(request, reply) {
      const { user } = request;
      const { acs, teamsOnBehalfOf } = request.server;
      const header = request.headers[TEAMS_TOKEN_HEADER];

      if (user.kind !== 'entra') {
        throw new HttpProblem(400, 'teams_requires_entra',
          'Teams users are Microsoft Entra ID users: sign in with Entra ID to exchange a Teams token; this caller signed in with another issuer.');
      }

      let teamsToken: string;
      if (typeof header === 'string') {
        teamsToken = header;
      } else if (teamsOnBehalfOf) {
        teamsToken = await teamsOnBehalfOf.teamsToken(extractBearerToken(request), user);
      } else {
        throw new HttpProblem(400, 'teams_not_configured',
          `Send the Teams user's Entra ID token in the header ${TEAMS_TOKEN_HEADER}; this service has no AZURE_CLIENT_SECRET to obtain it on the user's behalf.`,
          { errors: [{ in: 'header', name: TEAMS_TOKEN_HEADER, reason: 'is required when the service has no AZURE_CLIENT_SECRET' }] });
      }

      const owner = teamsTokenOwner(teamsToken);
      if (!owner) {
        throw new HttpProblem(400, 'invalid_request', `The ${TEAMS_TOKEN_HEADER} header is not a token with tid and oid claims.`, {
          errors: [{ in: 'header', name: TEAMS_TOKEN_HEADER, reason: 'has no tid and oid claims' }],
        });
      }
      if (owner.tenantId !== user.tenantId || owner.objectId !== user.objectId) {
        throw new HttpProblem(403, 'teams_token_mismatch', 'The Teams token belongs to another user than the caller.');
      }

      await request.server.acsCallBudget.spend(user, 'exchangeTeamsToken');
      const issued = await acs.exchangeTeamsToken(teamsToken, auth.clientId, user.objectId);
      request.server.metrics.tokensIssued.inc({ kind: 'teams' });
      request.server.audit.record('teams_exchange', request.server.hashUser(user), { mode: typeof header === 'string' ? 'header' : 'on_behalf_of' });
      return reply.header('cache-control', 'no-store').code(200).send({ token: issued.token, expiresOn: issued.expiresOn.toISOString() });
    },
  };
}
