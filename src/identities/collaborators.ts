// What the identity services work with, handed in by the plugin that builds them.
import type { AcsIdentityClient } from '../acs/acsIdentityClient.js';
import type { AuditTrail } from '../audit/auditTrail.js';
import type { Caller } from '../auth/caller.js';
import type { IdentityStore } from '../db/identityStore.js';
import type { Metrics } from '../metrics.js';
import type { AcsCallBudget } from './acsCallBudget.js';

type LogMethod = (details: object, message: string) => void;

/** The few logger methods the services use (the app's logger has them). */
export interface Logger {
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

export interface IdentityCollaborators {
  store: IdentityStore;
  acs: AcsIdentityClient;
  budget: AcsCallBudget;
  metrics: Metrics;
  audit: AuditTrail;
  /** A caller as the keyed hash that stands for it in the audit trail. */
  hashUser: (user: Caller) => string;
  log: Logger;
}
