// getUser, createUser, deleteUser: the caller's ACS identity.
import type { OperationHandler } from '../http/contract.js';
import type { IdentityDeletions } from '../identities/identityDeletions.js';
import type { IdentityService } from '../identities/identityService.js';
import { identityNotFound } from './identityNotFound.js';

const toAcsUser = (identity: { acsUserId: string; createdAt: Date }) => ({
  acsUserIdentity: identity.acsUserId,
  createdAt: identity.createdAt.toISOString(),
});

export function userHandlers(identities: IdentityService, deletions: IdentityDeletions): {
  getUser: OperationHandler<'getUser'>;
  createUser: OperationHandler<'createUser'>;
  deleteUser: OperationHandler<'deleteUser'>;
} {
  return {
    async getUser(request, reply) {
      const identity = await identities.find(request.user);
      if (!identity) throw identityNotFound();
      return reply.code(200).send(toAcsUser(identity));
    },

    async createUser(request, reply) {
      const { identity, created } = await identities.createIdentity(request.user);
      return reply.code(created ? 201 : 200).send(toAcsUser(identity));
    },

    async deleteUser(request, reply) {
      const outcome = await deletions.deleteFor(request.user, request.log);
      if (outcome !== 'queued') return reply.code(204).send();
      return reply.code(202).send({
        status: 'queued',
        detail: 'ACS could not delete the identity now; it will be deleted when it can be. No new token will be issued for it.',
      });
    },
  };
}
