// getToken and revokeTokens: ACS tokens for the caller's identity.
import type { AcsConfig } from '../acs/acsSettings.js';
import type { OperationHandler } from '../http/contract.js';
import type { IdentityService } from '../identities/identityService.js';
import { identityNotFound } from './identityNotFound.js';
import { tokenRequest } from './tokenRequest.js';

export function tokenHandlers(acsConfig: AcsConfig, identities: IdentityService): { getToken: OperationHandler<'getToken'>; revokeTokens: OperationHandler<'revokeTokens'> } {
  return {
    async getToken(request, reply) {
      const issued = await identities.issueToken(request.user, tokenRequest(request.query, acsConfig));
      if (!issued) throw identityNotFound();
      return reply.header('cache-control', 'no-store').code(200).send({
        token: issued.token,
        expiresOn: issued.expiresOn,
        user: { communicationUserId: issued.acsUserId },
      });
    },

    async revokeTokens(request, reply) {
      await identities.revokeTokens(request.user);
      return reply.code(204).send();
    },
  };
}
