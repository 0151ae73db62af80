// Creating a user's ACS identity, shared by getToken and createUser. If ACS created the
// identity but it could not be stored, it must not stay alive unrecorded: delete it now, or
// failing that, queue its deletion.
import type { FastifyInstance } from 'fastify';
import type { Caller } from '../auth/caller.js';

export async function createIdentityOnce<T extends { acsUserId: string }>(server: FastifyInstance, user: Caller, create: () => Promise<T>) {
  const discard = async (acsUserId: string) => {
    try {
      await server.acs.deleteIdentity(acsUserId);
    } catch {
      await server.identityStore.queueDeletion(acsUserId).catch((error: unknown) => {
        server.log.error({ err: error }, 'an ACS identity was created but neither stored nor deleted');
      });
    }
  };
  // A concurrent request for the same user waits at most as long as the creation can take.
  const result = await server.identityStore.createIfAbsent(user, create, discard, server.acs.requestTimeoutMs + 1000);
  if (result.created) {
    server.metrics.identitiesCreated.inc();
    server.audit.record('identity_created', server.hashUser(user));
  }
  return result;
}
