// Each user's budget of ACS calls: ACS's quota belongs to the resource, so a few users must not
// spend it for everyone. Spent just before a call to ACS (a token served again costs nothing).
import type { Caller } from '../auth/caller.js';

/** The ACS calls a user's requests make (as acs_calls_total names them). */
export type BudgetedAcsOperation = 'createIdentity' | 'issueToken' | 'revokeTokens' | 'deleteIdentity' | 'exchangeTeamsToken';

export interface AcsCallBudget {
  /** Counts one ACS call against the caller's budget; beyond it, throws (429 acs_call_budget_exceeded). */
  spend(caller: Caller, operation: BudgetedAcsOperation): Promise<void>;
}
