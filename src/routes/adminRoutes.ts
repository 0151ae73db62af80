// The admin API (operators' applications, plugins/admin.ts): find a user, export what is held
// about them, revoke their tokens, delete them with an erasure receipt, list a tenant's users,
// read a receipt, offboard a tenant and follow the job. Every operation is audited with the
// operator application's id.
import type { AdminDeletion } from '../admin/adminDeletion.js';
import { decodeCursor, type AdminIdentity, type AdminLookups, type IdentityKey } from '../admin/adminLookups.js';
import type { ErasureReceipt, ErasureReceipts } from '../admin/erasureReceipts.js';
import type { OffboardingRunner } from '../admin/offboardingRunner.js';
import type { OffboardingStatus } from '../admin/tenantOffboarding.js';
import type { Caller } from '../auth/caller.js';
import type { OperationHandler, Schemas } from '../http/contract.js';
import { HttpProblem, type InvalidParam } from '../http/httpProblem.js';
import { ADMIN_PROBLEMS } from '../http/problemCodes.js';

/** At most this many audit events in an export. */
const EXPORT_EVENTS = 1000;

const problem = ({ status, code, detail }: { status: number; code: string; detail: string }) => new HttpProblem(status, code, detail);
const identityNotFound = () => problem(ADMIN_PROBLEMS.identityNotFound);

const userKeyOf = (caller: Caller): Schemas['UserKey'] =>
  (caller.kind === 'entra' ? { tenantId: caller.tenantId, objectId: caller.objectId } : { issuer: caller.issuer, subject: caller.subject });

const toAdminIdentity = (identity: AdminIdentity): Schemas['AdminIdentity'] => ({
  acsUserIdentity: identity.acsUserId,
  user: userKeyOf(identity.caller),
  createdAt: identity.createdAt.toISOString(),
  tokensRevokedAt: identity.tokensRevokedAt?.toISOString() ?? null,
});

export const toReceipt = (receipt: ErasureReceipt): Schemas['ErasureReceipt'] => ({
  id: receipt.id,
  status: receipt.confirmedAt ? 'confirmed' : 'queued',
  requestedBy: receipt.requestedBy,
  requestedAt: receipt.requestedAt.toISOString(),
  confirmedAt: receipt.confirmedAt?.toISOString() ?? null,
  userHash: receipt.userHash,
});

const toOffboarding = (job: OffboardingStatus): Schemas['OffboardingStatus'] => ({
  ...job, createdAt: job.createdAt.toISOString(), updatedAt: job.updatedAt.toISOString(), completedAt: job.completedAt?.toISOString() ?? null,
});

type LookupQuery = { tenantId?: string; objectId?: string; issuer?: string; subject?: string; acsUserId?: string };

/** The one key a lookup names, or a 400 naming what is wrong. */
function lookupKey(query: LookupQuery): IdentityKey {
  const pairs = [['tenantId', 'objectId'], ['issuer', 'subject'], ['acsUserId']] as const;
  const given = pairs.filter((pair) => pair.some((name) => query[name] !== undefined));
  const errors: InvalidParam[] = [];
  if (given.length === 0) errors.push({ in: 'query', name: 'tenantId', reason: 'is required, with objectId (or give issuer and subject, or acsUserId)' });
  if (given.length > 1) for (const pair of given) errors.push({ in: 'query', name: pair[0], reason: 'names another key than the other parameters: give one key only' });
  if (given.length === 1) {
    const [first, second] = given[0]!;
    if (second !== undefined && query[second] === undefined) errors.push({ in: 'query', name: second, reason: `is required with ${first}` });
    if (second !== undefined && query[first] === undefined) errors.push({ in: 'query', name: first, reason: `is required with ${second}` });
  }
  if (errors.length > 0) throw new HttpProblem(400, 'invalid_request', errors.map((e) => `query parameter ${e.name} ${e.reason}`).join('; '), { errors });
  if (query.acsUserId !== undefined) return { acsUserId: query.acsUserId };
  if (query.issuer !== undefined) return { issuer: query.issuer, subject: query.subject! };
  return { tenantId: query.tenantId!.toLowerCase(), objectId: query.objectId!.toLowerCase() };
}

export function adminHandlers(lookups: AdminLookups, receipts: ErasureReceipts, admin: AdminDeletion, hashUser: (user: Caller) => string, offboardings: OffboardingRunner): {
  adminFindIdentity: OperationHandler<'adminFindIdentity'>;
  adminExportIdentity: OperationHandler<'adminExportIdentity'>;
  adminRevokeTokens: OperationHandler<'adminRevokeTokens'>;
  adminDeleteIdentity: OperationHandler<'adminDeleteIdentity'>;
  adminListTenantIdentities: OperationHandler<'adminListTenantIdentities'>;
  adminGetErasureReceipt: OperationHandler<'adminGetErasureReceipt'>;
  adminStartOffboarding: OperationHandler<'adminStartOffboarding'>;
  adminGetOffboarding: OperationHandler<'adminGetOffboarding'>;
} {
  const by = (request: { adminCaller: { appId: string } | null }) => request.adminCaller!.appId;
  return {
    async adminFindIdentity(request, reply) {
      const identity = await lookups.find(lookupKey(request.query));
      admin.record(by(request), 'lookup', identity?.caller, { found: identity !== undefined });
      if (!identity) throw identityNotFound();
      return reply.code(200).send(toAdminIdentity(identity));
    },

    async adminExportIdentity(request, reply) {
      const { acsUserId } = request.params as { acsUserId: string };
      const identity = await lookups.find({ acsUserId });
      if (!identity) throw identityNotFound();
      const userHash = hashUser(identity.caller);
      const [pendingDeletion, erasures, auditEvents] = await Promise.all([
        lookups.pendingDeletion(acsUserId), receipts.ofUser(userHash), lookups.auditEvents(userHash, EXPORT_EVENTS),
      ]);
      admin.record(by(request), 'export', identity.caller);
      return reply.code(200).send({
        identity: toAdminIdentity(identity),
        userHash,
        pendingDeletion: pendingDeletion ? { requestedAt: pendingDeletion.requestedAt.toISOString(), attempts: pendingDeletion.attempts } : null,
        erasures: erasures.map(toReceipt),
        auditEvents: auditEvents.events.map((event) => ({ at: event.at.toISOString(), event: event.event, details: event.details })),
        auditEventsTruncated: auditEvents.truncated,
      });
    },

    async adminRevokeTokens(request, reply) {
      const { acsUserId } = request.params as { acsUserId: string };
      if (!(await admin.revoke(by(request), { acsUserId }))) throw identityNotFound();
      return reply.code(204).send();
    },

    async adminDeleteIdentity(request, reply) {
      const { acsUserId } = request.params as { acsUserId: string };
      const erased = await admin.erase({ requestedBy: by(request) }, { acsUserId }, request.log);
      if (erased.outcome === 'not_found') throw identityNotFound();
      return reply.code(erased.outcome === 'deleted' ? 200 : 202).send(toReceipt(erased.receipt));
    },

    async adminListTenantIdentities(request, reply) {
      const tenantId = (request.params as { tenantId: string }).tenantId.toLowerCase();
      const { limit = 50, after } = request.query;
      const afterObjectId = after === undefined ? undefined : decodeCursor(after);
      if (after !== undefined && afterObjectId === undefined) {
        throw new HttpProblem(400, 'invalid_request', 'query parameter after is not a cursor this service gave', { errors: [{ in: 'query', name: 'after', reason: 'is not a cursor this service gave' }] });
      }
      const page = await lookups.listTenant(tenantId, limit, afterObjectId);
      admin.record(by(request), 'list', undefined, { tenantId, count: page.identities.length });
      return reply.code(200).send({
        identities: page.identities.map(toAdminIdentity),
        next: page.next === undefined ? null : `/admin/tenants/${tenantId}/identities?limit=${limit}&after=${page.next}`,
      });
    },

    async adminGetErasureReceipt(request, reply) {
      const { id } = request.params as { id: string };
      const receipt = await receipts.get(id.toLowerCase());
      admin.record(by(request), 'receipt', undefined, { receipt: id.toLowerCase(), found: receipt !== undefined });
      if (!receipt) throw problem(ADMIN_PROBLEMS.receiptNotFound);
      return reply.code(200).send(toReceipt(receipt));
    },

    async adminStartOffboarding(request, reply) {
      const tenantId = (request.params as { tenantId: string }).tenantId.toLowerCase();
      const { job, created } = await offboardings.start(tenantId, by(request));
      // A new job is audited as offboard_started by the job itself.
      if (!created) admin.record(by(request), 'offboard_status', undefined, { offboardingId: job.id, tenantId });
      reply.header('location', `/admin/offboardings/${job.id}`);
      return reply.code(created ? 202 : 200).send(toOffboarding(job));
    },

    async adminGetOffboarding(request, reply) {
      const id = (request.params as { id: string }).id.toLowerCase();
      const job = await offboardings.status(id);
      admin.record(by(request), 'offboard_status', undefined, { offboardingId: id, found: job !== undefined });
      if (!job) throw problem(ADMIN_PROBLEMS.offboardingNotFound);
      return reply.code(200).send(toOffboarding(job));
    },
  };
}
