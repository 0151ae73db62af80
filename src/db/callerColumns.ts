// Where a caller is stored: the columns tenant_id and object_id of acs_identities, named for
// Entra ID, hold another issuer's (issuer, subject) too. Renaming them would need an
// expand-then-contract migration, so the names stay and this is the one place that maps.
import type { Caller } from '../auth/caller.js';

/** The (tenant_id, object_id) values of the caller's rows. */
export function callerColumns(caller: Caller): [tenantId: string, objectId: string] {
  return caller.kind === 'entra' ? [caller.tenantId, caller.objectId] : [caller.issuer, caller.subject];
}

/**
 * The advisory-lock key under which the caller's identity is created: "tenant_id/object_id",
 * byte for byte what earlier versions lock, so that old and new replicas exclude each other
 * during a rolling upgrade. It is the user key for an Entra caller, not for another issuer's
 * (whose user key is length-prefixed): hence not the user key.
 */
export function creationLockKey(caller: Caller): string {
  const [tenantId, objectId] = callerColumns(caller);
  return `${tenantId}/${objectId}`;
}
