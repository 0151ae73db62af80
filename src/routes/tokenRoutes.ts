// getToken and revokeTokens: ACS tokens for the caller's identity.
import type { AcsConfig } from '../acs/acsSettings.js';
import type { OperationHandler } from '../http/contract.js';
import { HttpProblem } from '../http/httpProblem.js';
import { createIdentityOnce } from './identityCreation.js';
import { tokenRequest } from './tokenRequest.js';
import { TokenReuseCache } from '../acs/tokenReuseCache.js';

export const IDENTITY_NOT_FOUND = 'This user has no ACS identity yet; create it with POST /api/user.';

export function tokenHandlers(acsConfig: AcsConfig, now: () => number = Date.now): { getToken: OperationHandler<'getToken'>; revokeTokens: OperationHandler<'revokeTokens'> } {
  const recentTokens = new TokenReuseCache(acsConfig.tokenReuseSeconds * 1000, now);
  return {
    async getToken(request, reply) {
      const { scopes, expiresInMinutes } = tokenRequest(request.query, acsConfig);
      const { identityStore, acs } = request.server;
      const user = request.user;
      const issueMinutes = recentTokens.lifetimeToIssue(expiresInMinutes);

      let identity = await identityStore.find(user);
      // A new identity comes with its first token: one ACS call, not two.
      let issued: { token: string; expiresOn: Date } | undefined;
      if (!identity) {
        if (!acsConfig.autoCreateIdentity) throw new HttpProblem(404, 'identity_not_found', IDENTITY_NOT_FOUND);
        const result = await createIdentityOnce(request.server, user, async () => {
          await request.server.acsCallBudget(request, 'createIdentity');
          return acs.createIdentityWithToken(scopes, issueMinutes);
        });
        identity = result.identity;
        issued = result.created;
        if (issued) recentTokens.set(identity.acsUserId, scopes, issueMinutes, issued, identity.readAt);
      }
      const known = identity;
      let reused = false;
      if (!issued) {
        issued = recentTokens.get(known.acsUserId, scopes, expiresInMinutes, known.tokensRevokedAt);
        reused = issued !== undefined;
      }
      if (!issued) {
        ({ issued, shared: reused } = await recentTokens.issueOnce(known.acsUserId, scopes, issueMinutes, known, async () => {
          await request.server.acsCallBudget(request, 'issueToken');
          return acs.issueToken(known.acsUserId, scopes, issueMinutes);
        }));
      }
      request.server.metrics.tokensIssued.inc({ kind: reused ? 'reused' : 'user' });
      // A token served again is counted, not written a row each: a reload storm would otherwise
      // be a row per request (measured: warm requests at 0.36 of the floor's speed with a row
      // each, 0.44 without; the INSERTs' work in PostgreSQL shares the machine).
      const { audit, hashUser } = request.server;
      if (reused) audit.tally('token_issued', { scopes, expiresInMinutes, reused: true }, hashUser(user));
      else audit.record('token_issued', hashUser(user), { scopes, expiresInMinutes, reused: false });

      return reply.header('cache-control', 'no-store').code(200).send({
        token: issued.token,
        expiresOn: issued.expiresOn.toISOString(),
        user: { communicationUserId: identity.acsUserId },
      });
    },

    async revokeTokens(request, reply) {
      const { identityStore, acs, audit, hashUser } = request.server;
      const identity = await identityStore.find(request.user);
      if (identity) {
        await request.server.acsCallBudget(request, 'revokeTokens');
        await acs.revokeTokens(identity.acsUserId);
        // Every replica reads this with the mapping: none serves an older token again.
        await identityStore.markTokensRevoked(request.user);
        audit.record('tokens_revoked', hashUser(request.user));
      }
      return reply.code(204).send();
    },
  };
}
