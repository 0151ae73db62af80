// Creating a user's ACS identity once, however many requests on however many replicas ask at
// the same time: the database's per-user lock decides which request calls ACS; the others wait
// for its result without holding a connection. An identity ACS created but that could not be
// stored is deleted again (or its deletion queued), never left alive unrecorded.
import { setTimeout as sleep } from 'node:timers/promises';
import { AcsError } from '../acs/acsErrors.js';
import type { Caller } from '../auth/caller.js';
import { inSpan } from '../telemetry/hooks.js';
import type { StoredIdentity } from '../db/identityStore.js';
import type { IdentityCollaborators } from './collaborators.js';
import type { IdentityDeletions } from './identityDeletions.js';

/** Another request is still creating this user's identity (its ACS call is slow). */
export class IdentityCreationPendingError extends Error {
  constructor() {
    super("Another request is creating this user's ACS identity");
    this.name = 'IdentityCreationPendingError';
  }
}

export interface CreationResult<T> {
  identity: StoredIdentity;
  /** What ACS answered, when this request created the identity (else another one had). */
  created?: T;
}

type Collaborators = Pick<IdentityCollaborators, 'store' | 'acs' | 'budget' | 'metrics' | 'audit' | 'hashUser'>;

export class IdentityCreation {
  constructor(private readonly use: Collaborators, private readonly deletions: IdentityDeletions) {}

  /**
   * The caller's identity, created with `create` (one ACS call) unless another request did so
   * meanwhile. A request that finds the creation under way polls for its result for as long as
   * the creation can take.
   */
  async createOnce<T extends { acsUserId: string }>(caller: Caller, create: () => Promise<T>): Promise<CreationResult<T>> {
    const deadline = Date.now() + this.use.acs.requestTimeoutMs + 1000;
    for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
      const result = await this.tryCreate(caller, create);
      if (result) return result;
      if (Date.now() + pause > deadline) throw new IdentityCreationPendingError();
      await sleep(pause);
      const identity = await this.use.store.find(caller);
      if (identity) return { identity };
    }
  }

  /** One attempt: undefined when another request holds the caller's creation lock. */
  private async tryCreate<T extends { acsUserId: string }>(caller: Caller, create: () => Promise<T>): Promise<CreationResult<T> | undefined> {
    const { store, budget, metrics, audit, hashUser } = this.use;
    const claim = await store.claimCreation(caller);
    if (claim.state === 'busy') return undefined;
    // Reported as ACS would report another resource's identity; never replaced or used.
    if (claim.state === 'foreign') throw new AcsError('identity_not_owned', 'createUser', undefined, undefined, undefined);
    if (claim.state === 'exists') return { identity: claim.identity };
    // The creation under the caller's lock: the ACS call and the INSERT are its children.
    return inSpan('identity create', { 'enduser.pseudo.id': hashUser(caller) }, async () => {
      let created: T;
      try {
        await budget.spend(caller, 'createIdentity');
        created = await create();
      } catch (error) {
        await claim.abandon();
        throw error;
      }
      let identity: StoredIdentity;
      try {
        identity = await claim.insert(created.acsUserId);
      } catch (error) {
        // A COMMIT whose answer was lost may still have stored it: discard only what is not.
        // When the database cannot even say, the identity is discarded: a user who then finds
        // a mapping to a deleted identity is told so (502), an orphan would go unnoticed.
        if (!(await store.isMapped(created.acsUserId))) await this.deletions.discard(created.acsUserId);
        throw error;
      }
      metrics.identitiesCreated.inc();
      audit.record('identity_created', hashUser(caller));
      return { identity, created };
    });
  }
}
