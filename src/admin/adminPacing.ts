// The pace of administrators' ACS calls (deleting users, offboarding a tenant, revoking): ACS's
// quota is the resource's, so a bulk deletion spends it at a set rate and leaves the rest to the
// users. Its own limiter, apart from the users' budgets (acsCallBudget): an offboarding neither
// counts against a user's budget nor is refused by it; it waits for its turn instead.
import { Type, type Static } from 'typebox';
import type { AcsCallBudget } from '../identities/acsCallBudget.js';

export interface AdminPacingSettings {
  /** ACS calls per second that administrators' work may make, per process. */
  acsCallsPerSecond: number;
}

export const adminPacingSchema = Type.Object({
  ADMIN_ACS_CALLS_PER_SECOND: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
});

export function adminPacingSettings(raw: Static<typeof adminPacingSchema>): AdminPacingSettings {
  return Object.freeze({ acsCallsPerSecond: raw.ADMIN_ACS_CALLS_PER_SECOND });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Paces calls at `callsPerSecond`: each `spend` waits for the next free slot (first come, first
 * served) rather than refusing. No burst beyond one call: a bulk job starts at its pace.
 * It stands in for a user's budget where the identity services ask for one.
 */
export class AdminPacer implements AcsCallBudget {
  private nextSlot = 0;
  private readonly intervalMs: number;

  constructor(callsPerSecond: number, private readonly now: () => number = () => performance.now()) {
    this.intervalMs = 1000 / callsPerSecond;
  }

  /** How long `calls` calls take at this pace. */
  secondsFor(calls: number): number {
    return (calls * this.intervalMs) / 1000;
  }

  /** Waits until this call may go. */
  async spend(): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.intervalMs;
    if (slot > now) await sleep(slot - now);
  }
}
