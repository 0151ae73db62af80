// Queued ACS deletions: how often a replica retries them, how many per pass, and how long one
// claim lasts.
import { Type, type Static } from 'typebox';

export interface DeletionSettings {
  /** How often a replica looks for queued ACS deletions that are due. */
  retryIntervalSeconds: number;
  /** At most how many due deletions one retry pass tries (one claim at a time). */
  batchSize: number;
  /** How long a claimed deletion belongs to the replica trying it: one ACS call must fit. */
  leaseSeconds: number;
}

// Deletions one replica tries per pass; well inside ACS's 500 deletions per 30 s.
const DELETION_BATCH_SIZE = 100;

export const deletionSettingsSchema = Type.Object({
  ACS_DELETION_RETRY_INTERVAL_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 30 }),
});

/** The deletions section; `acsRequestTimeoutMs` bounds one ACS call (ACS_REQUEST_TIMEOUT_MS). */
export function deletionSettings(raw: Static<typeof deletionSettingsSchema>, acsRequestTimeoutMs: number): DeletionSettings {
  return Object.freeze({
    retryIntervalSeconds: raw.ACS_DELETION_RETRY_INTERVAL_SECONDS,
    batchSize: DELETION_BATCH_SIZE,
    // One claim covers one deletion, so the lease only has to outlast one ACS operation; a
    // replica that dies holding one delays it by this much, no more.
    leaseSeconds: Math.ceil((2 * acsRequestTimeoutMs) / 1000) + 5,
  });
}
