// Tenant offboarding over the admin API: started by an operator application, run in the
// service's background, followed by its status; started twice, the same job. Closing the service
// stops it after the batch under way; a replica that starts resumes it. Real PostgreSQL, the ACS
// emulator, app-only tokens from the Entra ID emulator.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { seedIdentities } from './helpers/seedIdentities.js';
import { startOtherReplica, startTestService, type TestService } from './helpers/testService.js';

t.setTimeout(120_000);

const ROLE = 'Identities.Admin';
const OPERATOR_APP = '5a7c9e1b-3d5f-4a2c-8e6b-0d2f4a6c8e0b';

/** An application's own token (client credentials), as Entra ID issues it: no scp, sub = oid. */
function appToken(svc: TestService): string {
  const servicePrincipal = randomUUID();
  return svc.userToken({ claims: { scp: undefined, roles: [ROLE], azp: OPERATOR_APP, oid: servicePrincipal, sub: servicePrincipal, idtyp: 'app', name: undefined, preferred_username: undefined } });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` identities of a new tenant, in the database and in ACS: the tenant and their ACS ids. */
async function tenantWithIdentities(svc: TestService, count: number) {
  // The emulator's prefix of identity ids, from an identity the service created.
  const created = await svc.request({ method: 'POST', url: '/api/user', token: svc.userToken() });
  const sample: string = created.json.acsUserIdentity;
  const tenantId = randomUUID();
  const { acsUserIds } = await seedIdentities(svc.db, svc.acs, sample.slice(0, sample.lastIndexOf('_') + 1), tenantId, count);
  return { tenantId, acsUserIds };
}

async function jobRow(svc: TestService, id: string) {
  const { rows } = await svc.db.query<{ state: string; deleted: number; worker_id: string | null }>('SELECT state, deleted, worker_id FROM tenant_offboardings WHERE id = $1', [id]);
  return rows[0]!;
}

/** Polls the job's row until it is completed (or the time is up). */
async function completed(svc: TestService, id: string, withinMs = 30_000): Promise<boolean> {
  for (const end = Date.now() + withinMs; Date.now() < end; await sleep(50)) {
    if ((await jobRow(svc, id)).state === 'completed') return true;
  }
  return false;
}

t.test('started over HTTP: 202 with Location, run in the background, followed to completion; started again: 200, the same job', async (t) => {
  const svc = await startTestService(t, { AUDIT_FLUSH_INTERVAL_MS: '10' });
  const admin = appToken(svc);
  const { tenantId, acsUserIds } = await tenantWithIdentities(svc, 12);
  const other = await tenantWithIdentities(svc, 2);

  const started = await svc.request({ method: 'POST', url: `/admin/tenants/${tenantId.toUpperCase()}/offboarding`, token: admin });
  t.equal(started.statusCode, 202);
  const { id } = started.json;
  t.equal(started.headers.location, `/admin/offboardings/${id}`);
  t.match(started.json, { tenantId, state: 'running', total: 12, deleted: 0, failed: 0, requestedBy: OPERATOR_APP, completedAt: null });

  const again = await svc.request({ method: 'POST', url: `/admin/tenants/${tenantId}/offboarding`, token: admin });
  t.equal(again.statusCode, 200, 'started twice: the same job');
  t.equal(again.json.id, id);
  t.equal(again.headers.location, `/admin/offboardings/${id}`);

  t.ok(await completed(svc, id), 'the service ran it to completion');
  const status = await svc.request({ url: started.headers.location as string, token: admin });
  t.equal(status.statusCode, 200);
  t.match(status.json, { id, tenantId, state: 'completed', total: 12, deleted: 12, failed: 0, requestedBy: OPERATOR_APP });
  t.ok(Date.parse(status.json.completedAt) >= Date.parse(status.json.createdAt));
  t.match(status.json.message, `Now remove ${tenantId} from AUTH_ALLOWED_TENANTS`);
  t.same(acsUserIds.filter((acsUserId) => svc.acs.hasIdentity(acsUserId)), [], 'no identity left in ACS');
  t.equal((await svc.db.query('SELECT 1 FROM acs_identities WHERE tenant_id = $1', [tenantId])).rowCount, 0, 'nor in the database');
  t.equal(other.acsUserIds.filter((acsUserId) => svc.acs.hasIdentity(acsUserId)).length, 2, 'another tenant untouched');

  const { rows: receipts } = await svc.db.query<{ confirmed: boolean; n: number }>(
    'SELECT confirmed_at IS NOT NULL AND acs_user_id IS NULL AS confirmed, count(*)::int AS n FROM erasure_receipts WHERE requested_by = $1 GROUP BY 1', [OPERATOR_APP]);
  t.same(receipts, [{ confirmed: true, n: 12 }], 'a confirmed receipt per identity, naming the operator application, with no clear id');
  await svc.app.audit.flush();
  const { rows: audit } = await svc.db.query<{ operation: string; by: string }>(
    `SELECT DISTINCT details->>'operation' AS operation, details->>'by' AS by FROM audit_events
      WHERE event = 'admin_operation' AND details->>'offboardingId' = $1 ORDER BY 1`, [id]);
  t.same(audit, [
    { operation: 'delete', by: OPERATOR_APP }, { operation: 'offboard_completed', by: OPERATOR_APP },
    { operation: 'offboard_started', by: OPERATOR_APP }, { operation: 'offboard_status', by: OPERATOR_APP },
  ], 'audited under the operator application');

  const done = await svc.request({ method: 'POST', url: `/admin/tenants/${tenantId}/offboarding`, token: admin });
  t.equal(done.statusCode, 200, 'started once completed: the completed job');
  t.match(done.json, { id, state: 'completed' });

  const unknown = await svc.request({ url: `/admin/offboardings/${randomUUID()}`, token: admin });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json.code, 'offboarding_not_found');
});

t.test('closing the service stops the job after the batch under way; a replica that starts resumes it', async (t) => {
  // A slow pace: the job is still under way when the service closes.
  const svc = await startTestService(t, { ADMIN_ACS_CALLS_PER_SECOND: '20' });
  const { tenantId, acsUserIds } = await tenantWithIdentities(svc, 40);
  const started = await svc.request({ method: 'POST', url: `/admin/tenants/${tenantId}/offboarding`, token: appToken(svc) });
  t.equal(started.statusCode, 202);
  const { id } = started.json;
  await sleep(400);
  await svc.app.close();
  const stopped = await jobRow(svc, id);
  t.equal(stopped.state, 'running', 'stopped, not completed');
  t.ok(stopped.deleted > 0 && stopped.deleted < 40, `the batch under way committed: ${stopped.deleted} deleted`);
  t.equal(stopped.worker_id, null, 'and the job released');
  const left = acsUserIds.filter((acsUserId) => svc.acs.hasIdentity(acsUserId)).length;
  await sleep(300);
  t.equal(acsUserIds.filter((acsUserId) => svc.acs.hasIdentity(acsUserId)).length, left, 'nothing deleted once closed');
  t.equal(left, 40 - stopped.deleted, 'each deletion counted');

  await startOtherReplica(t, svc, { ADMIN_ACS_CALLS_PER_SECOND: '1000' });
  t.ok(await completed(svc, id), 'the replica resumed it at start and completed it');
  t.same(acsUserIds.filter((acsUserId) => svc.acs.hasIdentity(acsUserId)), [], 'no identity left in ACS');
  t.match(await jobRow(svc, id), { state: 'completed', deleted: 40, worker_id: null });
});
