// The admin API's wiring (docs/operations.md#admin-api): the hook that admits only operators'
// applications (admin/adminAuth.ts) on top of the usual token checks, their rate limit, the
// admin services (one AdminPacer for the process's administrative ACS calls), the sweep that
// deletes erasure receipts past their retention, and tenant offboardings run in the background
// (those left running resumed at start, stopped at close).
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify';
import { adminCallerOf, type AdminCaller } from '../admin/adminAuth.js';
import { AdminDeletion } from '../admin/adminDeletion.js';
import type { AdminLookups } from '../admin/adminLookups.js';
import { AdminPacer } from '../admin/adminPacing.js';
import type { ErasureReceipts } from '../admin/erasureReceipts.js';
import { OffboardingRunner } from '../admin/offboardingRunner.js';
import { TenantOffboardings } from '../admin/tenantOffboarding.js';
import type { Config } from '../config/index.js';
import { LOCAL_ACS_RESOURCE } from '../db/resources.js';
import { LocalWindowCounts } from './localWindowCounts.js';
import { countLocally } from './rateLimits.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The operator application of an admin request, once authenticated (else null). */
    adminCaller: AdminCaller | null;
  }
  interface FastifyInstance {
    /** onRequest hooks of the admin routes, in order: the token and role, then the application's limit. */
    adminHooks: onRequestHookHandler[];
    adminLookups: AdminLookups;
    erasureReceipts: ErasureReceipts;
    adminDeletion: AdminDeletion;
    /** The pace of administrators' ACS calls in this process (ADMIN_ACS_CALLS_PER_SECOND). */
    adminPacer: AdminPacer;
    /** Tenant offboardings, run in this process's background. */
    adminOffboardings: OffboardingRunner;
  }
}

const PURGE_INTERVAL_MS = 60 * 60 * 1000;
/** Operator applications whose count a replica keeps. */
const ADMIN_KEYS = 1000;

export default fp(async function admin(app, { config }: { config: Pick<Config, 'admin' | 'adminPacing' | 'acs' | 'deletions' | 'rateLimits'> }) {
  // The rows of this service's resource, as the identity store reads them (plugins/database.ts).
  const scope = { resource: config.acs.resource, adoptUnknown: config.acs.resource !== LOCAL_ACS_RESOURCE };
  const pacer = new AdminPacer(config.adminPacing.acsCallsPerSecond);
  const collaborators = {
    pool: app.pool, store: app.identityStore, acs: app.acs, audit: app.audit, hashUser: app.hashUser, log: app.log,
    pacer, deletions: config.deletions, scope,
  };
  const adminDeletion = new AdminDeletion(collaborators);
  const offboardings = new OffboardingRunner(new TenantOffboardings(collaborators, adminDeletion), app.log);
  const { lookups, receipts } = adminDeletion;
  app.decorate('adminOffboardings', offboardings);
  app.decorate('adminPacer', pacer);
  app.decorate('adminLookups', lookups);
  app.decorate('erasureReceipts', receipts);
  app.decorate('adminDeletion', adminDeletion);

  app.decorateRequest('adminCaller', null);
  const { appRole, rateLimitMax, tenantId } = config.admin;
  const rules = { tenantId, role: appRole };
  if (tenantId === undefined) app.log.warn('the admin API refuses every token: set ADMIN_TENANT_ID (or AZURE_TENANT_ID) to the API\'s home tenant');
  const authenticateAdmin = app.authenticateWith((request, payload, fromEntra) => {
    request.adminCaller = adminCallerOf(payload, fromEntra, rules);
  });
  // Counted in each replica: operators' requests are few, and each is audited.
  const windowMs = config.rateLimits.windowSeconds * 1000;
  const counts = new LocalWindowCounts(windowMs, ADMIN_KEYS);
  const perAdmin = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const refusal = countLocally(counts, request.adminCaller!.userKey, rateLimitMax, reply);
    if (refusal) app.metrics.rateLimited.inc({ limit: 'admin' });
    done(refusal);
  };
  app.decorate('adminHooks', [app.rateLimitHooks.perIp, authenticateAdmin, perAdmin]);

  const purge = () => receipts.purgeOlderThan(config.admin.receiptRetentionDays)
    .then((deleted) => { if (deleted > 0) app.log.info({ deleted }, 'erasure receipts past their retention deleted'); })
    .catch((error: unknown) => app.log.warn({ err: error }, 'erasure receipt purge failed'));
  const purgeTimer = setInterval(() => void purge(), PURGE_INTERVAL_MS);
  purgeTimer.unref();
  app.addHook('onReady', async () => {
    void purge();
    // Jobs left running (by this replica before a restart, or by one that is gone) go on here.
    await offboardings.resume();
  });
  // preClose: the batch under way is committed before the database plugin's onClose ends the pool.
  app.addHook('preClose', () => offboardings.close());
  app.beforePoolEnd(async () => { clearInterval(purgeTimer); });
}, {
  name: 'admin',
  dependencies: ['database', 'acs', 'authentication', 'rate-limits', 'audit', 'metrics'],
  decorators: { fastify: ['pool', 'identityStore', 'acs', 'authenticateWith', 'rateLimitHooks', 'audit', 'hashUser', 'metrics', 'beforePoolEnd'] },
});
