// getUser, createUser, deleteUser: the caller's ACS identity.
import type { Config } from '../config/index.js';
import type { OperationHandler } from '../http/contract.js';
import { AcsError } from '../acs/acsErrors.js';
import { HttpProblem } from '../http/httpProblem.js';
import { createIdentityOnce } from './identityCreation.js';
import { IDENTITY_NOT_FOUND } from './tokenRoutes.js';

const toAcsUser = (identity: { acsUserId: string; createdAt: Date }) => ({
  acsUserIdentity: identity.acsUserId,
  createdAt: identity.createdAt.toISOString(),
});

export function userHandlers(deletions: Config['deletions']): {
  getUser: OperationHandler<'getUser'>;
  createUser: OperationHandler<'createUser'>;
  deleteUser: OperationHandler<'deleteUser'>;
} {
  return {
    async getUser(request, reply) {
      const identity = await request.server.identityStore.find(request.user);
      if (!identity) throw new HttpProblem(404, 'identity_not_found', IDENTITY_NOT_FOUND);
      return reply.code(200).send(toAcsUser(identity));
    },

    async createUser(request, reply) {
      const { identityStore, acs } = request.server;
      const existing = await identityStore.find(request.user);
      if (existing) return reply.code(200).send(toAcsUser(existing));
      const { identity, created } = await createIdentityOnce(request.server, request.user, async () => {
        await request.server.acsCallBudget(request, 'createIdentity');
        return acs.createIdentity();
      });
      return reply.code(created ? 201 : 200).send(toAcsUser(identity));
    },

    async deleteUser(request, reply) {
      const { identityStore, acs, audit, hashUser } = request.server;
      // Counted against the user's ACS-call budget before anything changes; not when there is
      // nothing to delete.
      if (!(await identityStore.find(request.user))) return reply.code(204).send();
      await request.server.acsCallBudget(request, 'deleteIdentity');
      // The mapping goes and the deletion is recorded in one transaction; then ACS is asked.
      const acsUserId = await identityStore.detachForDeletion(request.user, deletions.leaseSeconds);
      if (!acsUserId) return reply.code(204).send();
      const userHash = hashUser(request.user);
      try {
        await acs.deleteIdentity(acsUserId);
      } catch (error) {
        if (!(error instanceof AcsError)) throw error;
        await identityStore.deferDeletion(acsUserId, error.message, Math.max(error.retryAfterSeconds ?? 0, deletions.retryIntervalSeconds));
        request.log.warn({ kind: error.kind }, 'ACS identity deletion queued for retry');
        audit.record('deletion_requested', userHash, { queued: true });
        return reply.code(202).send({
          status: 'queued',
          detail: 'ACS could not delete the identity now; it will be deleted when it can be. No new token will be issued for it.',
        });
      }
      await identityStore.completeDeletion(acsUserId);
      audit.record('deletion_requested', userHash, { queued: false });
      audit.record('deletion_completed', userHash, { attempts: 1 });
      return reply.code(204).send();
    },
  };
}
