// The identity services (issue, create once, revoke; deletions) built over the store, the ACS
// client, the ACS-call budget, metrics and the audit trail; and the timer that retries queued
// deletions on every replica.
import fp from 'fastify-plugin';
import type { Config } from '../config/index.js';
import { IdentityCreation } from '../identities/identityCreation.js';
import { IdentityDeletions } from '../identities/identityDeletions.js';
import { IdentityService } from '../identities/identityService.js';
import { TokenReuseCache } from '../identities/tokenReuseCache.js';

declare module 'fastify' {
  interface FastifyInstance {
    identities: IdentityService;
    identityDeletions: IdentityDeletions;
  }
}

interface IdentitiesOptions {
  acs: Config['acs'];
  deletions: Config['deletions'];
  /** This replica's clock, in ms since the epoch (tests shift it). */
  now?: () => number;
}

export default fp(async function identities(app, { acs: acsConfig, deletions: deletionSettings, now }: IdentitiesOptions) {
  const collaborators = {
    store: app.identityStore, acs: app.acs, budget: app.acsCallBudget, metrics: app.metrics, audit: app.audit, hashUser: app.hashUser, log: app.log,
  };
  const deletions = new IdentityDeletions(collaborators, deletionSettings);
  const creation = new IdentityCreation(collaborators, deletions);
  const recentTokens = new TokenReuseCache(acsConfig.tokenReuseSeconds * 1000, now, acsConfig.defaultScopes);
  app.decorate('identities', new IdentityService(collaborators, creation, recentTokens, acsConfig.autoCreateIdentity));
  app.decorate('identityDeletions', deletions);

  deletions.startRetries((error) => app.log.warn({ err: error }, 'deletion retry pass failed'));
  // preClose: before the database plugin's onClose ends the pool this pass may still use.
  app.addHook('preClose', () => deletions.stopRetries());
}, {
  name: 'identities',
  dependencies: ['database', 'acs', 'audit', 'metrics', 'rate-limits'],
  decorators: { fastify: ['identityStore', 'acs', 'acsCallBudget', 'metrics', 'audit', 'hashUser'] },
});
