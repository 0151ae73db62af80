// The admin API over HTTP: operators' app-only tokens from the Entra ID emulator, real
// PostgreSQL, the ACS emulator. Who is admitted and who is not; each lookup key; the export;
// revocation and deletion with ACS up and down (the receipt confirmed once the queued deletion
// completes, and then holding no clear identifier); pages; bad parameters change nothing.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startTestService, type TestService } from './helpers/testService.js';

t.setTimeout(120_000);

const ROLE = 'Identities.Admin';
const OPERATOR_APP = '1f9b6c2d-8e4a-4b3c-a5d6-7e8f9a0b1c2d';

/** An application's own token (client credentials), as Entra ID issues it: no scp, sub = oid. */
function appToken(svc: TestService, { roles = [ROLE], appId = OPERATOR_APP, tenantId, claims = {} }: { roles?: string[]; appId?: string; tenantId?: string; claims?: Record<string, unknown> } = {}): string {
  const servicePrincipal = randomUUID();
  return svc.userToken({ ...(tenantId ? { tenantId } : {}), claims: { scp: undefined, roles, azp: appId, oid: servicePrincipal, sub: servicePrincipal, idtyp: 'app', name: undefined, preferred_username: undefined, ...claims } });
}

/** A user with an identity: their token and ACS id. */
async function userWithIdentity(svc: TestService, tenantId?: string, objectId = randomUUID()) {
  const token = svc.userToken({ objectId, ...(tenantId ? { tenantId } : {}) });
  const created = await svc.request({ method: 'POST', url: '/api/user', token });
  return { token, objectId, acsUserId: created.json.acsUserIdentity as string };
}

const enc = encodeURIComponent;
const NOBODY = enc('8:acs:nobody_00000000-0000-4000-8000-000000000000');

/** One request of each admin operation, for `tenantId`. */
const everyOperation = (tenantId: string): Array<{ method: 'GET' | 'POST' | 'DELETE'; url: string }> => [
  { method: 'GET', url: `/admin/identities?acsUserId=${NOBODY}` },
  { method: 'GET', url: `/admin/identities/${NOBODY}/export` },
  { method: 'POST', url: `/admin/identities/${NOBODY}/revoke` },
  { method: 'DELETE', url: `/admin/identities/${NOBODY}` },
  { method: 'GET', url: `/admin/tenants/${tenantId}/identities` },
  { method: 'GET', url: `/admin/erasures/${randomUUID()}` },
  { method: 'GET', url: `/admin/offboardings/${randomUUID()}` },
  // Refused before anything starts in each case below (a started job would offboard `tenantId`).
  { method: 'POST', url: `/admin/tenants/${tenantId}/offboarding` },
];

// A second allowed tenant, whose users use the service but whose applications are no operators.
const OTHER_TENANT = 'a4c2e6f8-1b3d-4f5a-8c7e-9d0b2a4c6e8f';

const svc = await startTestService(t, (entra) => ({
  AUTH_ALLOWED_TENANTS: OTHER_TENANT,
  AUTH_ISSUERS: JSON.stringify([{ issuer: entra.oidc.issuer, audience: entra.oidc.audience, algorithms: ['ES256'], scope: 'tokens' }]),
  AUDIT_FLUSH_INTERVAL_MS: '10',
}));
t.afterEach(() => svc.acs.clearFaults());

t.test('who is admitted: an app-only token with the role; not without it, not a user, not another issuer', async (t) => {
  const { acsUserId } = await userWithIdentity(svc);
  const url = `/admin/identities?acsUserId=${enc(acsUserId)}`;
  const admitted = await svc.request({ url, token: appToken(svc) });
  t.equal(admitted.statusCode, 200, 'app-only with the role');

  const noRole = await svc.request({ url, token: appToken(svc, { roles: ['Other.Role'] }) });
  t.equal(noRole.statusCode, 403);
  t.equal(noRole.json.code, 'admin_role_required');
  t.match(noRole.headers['www-authenticate'], /insufficient_scope/);

  const userWithRoles = await svc.request({ url, token: svc.userToken({ claims: { roles: [ROLE] } }) });
  t.equal(userWithRoles.statusCode, 403, 'a user\'s token, even with the role in roles');
  t.equal(userWithRoles.json.code, 'admin_app_token_required');
  // A user's token without scp but with roles is no application's either: no idtyp, sub is not its oid.
  const userRolesOnly = await svc.request({ url, token: svc.userToken({ claims: { scp: undefined, roles: [ROLE] } }) });
  t.equal(userRolesOnly.json.code, 'admin_app_token_required');

  const oidcApp = svc.entra.oidc.mintToken({ subject: OPERATOR_APP, claims: { client_id: OPERATOR_APP, roles: [ROLE] } });
  const otherIssuer = await svc.request({ url, token: oidcApp });
  t.equal(otherIssuer.statusCode, 401, 'another trusted issuer\'s token is invalid here');
  t.equal(otherIssuer.json.code, 'invalid_token');

  const foreignTenant = await svc.request({ url, token: appToken(svc, { claims: { tid: randomUUID() } }) });
  t.equal(foreignTenant.statusCode, 401, 'a tenant not allowed');
  // Another allowed tenant's administrator can grant this API's roles to their own applications.
  const otherTenantApp = await svc.request({ url, token: appToken(svc, { tenantId: OTHER_TENANT }) });
  t.equal(otherTenantApp.statusCode, 401, 'an application of another allowed tenant');
  t.match(otherTenantApp.json.detail, /home tenant/);
  const otherTenantUser = await svc.request({ url: '/api/user', token: svc.userToken({ tenantId: OTHER_TENANT }) });
  t.equal(otherTenantUser.statusCode, 404, 'whose users are served');
  const wrongAudience = await svc.request({ url, token: appToken(svc, { claims: { aud: randomUUID() } }) });
  t.equal(wrongAudience.statusCode, 401, 'another audience');
  t.equal((await svc.request({ url })).statusCode, 401, 'no token');

  // The user routes still refuse the operator's token.
  const userRoute = await svc.request({ url: '/api/user', token: appToken(svc) });
  t.equal(userRoute.statusCode, 403);
  t.equal(userRoute.json.code, 'insufficient_scope');
});

t.test('every admin operation: 401 without a token, 403 for a user or without the role, 414', async (t) => {
  for (const { method, url } of everyOperation(svc.entra.tenantId)) {
    t.equal((await svc.request({ method, url })).statusCode, 401, `${method} ${url}: 401`);
    const user = await svc.request({ method, url, token: svc.userToken({ claims: { roles: [ROLE] } }) });
    t.equal(user.json.code, 'admin_app_token_required', `${method} ${url}: a user's token`);
    const noRole = await svc.request({ method, url, token: appToken(svc, { roles: [] }) });
    t.equal(noRole.json.code, 'admin_role_required', `${method} ${url}: no role`);
    const tooLong = await svc.request({ method, url: `${url}${url.includes('?') ? '&' : '?'}pad=${'x'.repeat(3000)}`, token: appToken(svc) });
    t.equal(tooLong.statusCode, 414, `${method} ${url}: 414`);
  }
  t.equal((await svc.db.query('SELECT count(*)::int AS n FROM tenant_offboardings')).rows[0].n, 0, 'no offboarding started');
});

t.test('lookups by tenant + object id, issuer + subject, ACS id; 404 for nobody', async (t) => {
  const admin = appToken(svc);
  const { objectId, acsUserId } = await userWithIdentity(svc);
  const byObject = await svc.request({ url: `/admin/identities?tenantId=${svc.entra.tenantId.toUpperCase()}&objectId=${objectId}`, token: admin });
  t.equal(byObject.statusCode, 200);
  t.same(byObject.json.user, { tenantId: svc.entra.tenantId, objectId });
  t.equal(byObject.json.acsUserIdentity, acsUserId);
  t.equal(byObject.json.tokensRevokedAt, null);

  const byAcsId = await svc.request({ url: `/admin/identities?acsUserId=${enc(acsUserId)}`, token: admin });
  t.same(byAcsId.json, byObject.json);

  const oidcToken = svc.entra.oidc.mintToken({ subject: 'alice@example' });
  const oidcUser = await svc.request({ method: 'POST', url: '/api/user', token: oidcToken });
  t.equal(oidcUser.statusCode, 201);
  const bySubject = await svc.request({ url: `/admin/identities?issuer=${enc(svc.entra.oidc.issuer)}&subject=${enc('alice@example')}`, token: admin });
  t.equal(bySubject.statusCode, 200);
  t.same(bySubject.json.user, { issuer: svc.entra.oidc.issuer, subject: 'alice@example' });
  t.equal(bySubject.json.acsUserIdentity, oidcUser.json.acsUserIdentity);

  const nobody = await svc.request({ url: `/admin/identities?tenantId=${svc.entra.tenantId}&objectId=${randomUUID()}`, token: admin });
  t.equal(nobody.statusCode, 404);
  t.equal(nobody.json.code, 'admin_identity_not_found');
});

t.test('bad parameters: 400 naming them, and nothing changed', async (t) => {
  const admin = appToken(svc);
  const { acsUserId } = await userWithIdentity(svc);
  const before = await svc.snapshot();
  const receiptsBefore = await svc.db.query('SELECT count(*)::int AS n FROM erasure_receipts');
  const cases: Array<{ method?: 'GET' | 'POST' | 'DELETE'; url: string; name: string }> = [
    { url: '/admin/identities', name: 'tenantId' },
    { url: `/admin/identities?tenantId=${svc.entra.tenantId}`, name: 'objectId' },
    { url: `/admin/identities?tenantId=${svc.entra.tenantId}&objectId=${randomUUID()}&acsUserId=${enc(acsUserId)}`, name: 'tenantId' },
    { url: '/admin/identities?tenantId=not-a-guid&objectId=x', name: 'tenantId' },
    { url: `/admin/identities?acsUserId=${enc(acsUserId)}&force=1`, name: 'force' },
    { method: 'DELETE', url: '/admin/identities/not-an-acs-id', name: 'acsUserId' },
    { method: 'DELETE', url: `/admin/identities/${enc(acsUserId)}?force=true`, name: 'force' },
    { method: 'POST', url: '/admin/identities/not-an-acs-id/revoke', name: 'acsUserId' },
    { url: '/admin/identities/not-an-acs-id/export', name: 'acsUserId' },
    { url: `/admin/tenants/${svc.entra.tenantId}/identities?limit=0`, name: 'limit' },
    { url: `/admin/tenants/${svc.entra.tenantId}/identities?limit=201`, name: 'limit' },
    { url: `/admin/tenants/${svc.entra.tenantId}/identities?after=${Buffer.from('x').toString('base64url')}`, name: 'after' },
    { url: '/admin/tenants/not-a-tenant/identities', name: 'tenantId' },
    // Control characters (here NUL) are refused, not handed to the database.
    { url: `/admin/tenants/${svc.entra.tenantId}/identities?after=bzoA`, name: 'after' },
    { url: '/admin/identities/8%3Aacs%3A%00/export', name: 'acsUserId' },
    { method: 'DELETE', url: '/admin/identities/8%3Aacs%3A%00', name: 'acsUserId' },
    { url: '/admin/identities?issuer=a%00&subject=b', name: 'issuer' },
    { url: '/admin/erasures/not-a-receipt', name: 'id' },
    { url: '/admin/offboardings/not-a-job', name: 'id' },
    { method: 'POST', url: '/admin/tenants/not-a-tenant/offboarding', name: 'tenantId' },
    { method: 'POST', url: `/admin/tenants/${svc.entra.tenantId}/offboarding?force=1`, name: 'force' },
  ];
  for (const { method = 'GET', url, name } of cases) {
    const response = await svc.request({ method, url, token: admin });
    t.equal(response.statusCode, 400, `${method} ${url}: 400`);
    t.equal(response.json.code, 'invalid_request');
    t.ok(response.json.errors?.some((error: { name: string }) => error.name === name), `names ${name}`);
  }
  t.same(await svc.snapshot(), before, 'identities and deletions unchanged');
  t.same((await svc.db.query('SELECT count(*)::int AS n FROM erasure_receipts')).rows, receiptsBefore.rows, 'no receipt made');
  t.equal((await svc.db.query('SELECT count(*)::int AS n FROM tenant_offboardings')).rows[0].n, 0, 'no offboarding started');
  t.ok(svc.acs.hasIdentity(acsUserId));
});

t.test('export: the mapping, revocation time, receipts and the audit events under the keyed hash', async (t) => {
  const admin = appToken(svc);
  const { token, acsUserId } = await userWithIdentity(svc);
  t.equal((await svc.request({ url: '/api/token', token })).statusCode, 200);
  t.equal((await svc.request({ method: 'POST', url: `/admin/identities/${enc(acsUserId)}/revoke`, token: admin })).statusCode, 204);
  await svc.app.audit.flush();
  const exported = await svc.request({ url: `/admin/identities/${enc(acsUserId)}/export`, token: admin });
  t.equal(exported.statusCode, 200);
  t.equal(exported.json.identity.acsUserIdentity, acsUserId);
  t.ok(exported.json.identity.tokensRevokedAt, 'the revocation time');
  t.equal(exported.json.pendingDeletion, null);
  t.same(exported.json.erasures, []);
  const events = exported.json.auditEvents.map((e: { event: string }) => e.event);
  t.match(events, ['identity_created', 'token_issued', 'tokens_revoked', 'admin_operation']);
  const stored = await svc.db.query('SELECT count(*)::int AS n FROM audit_events WHERE user_hash = $1', [exported.json.userHash]);
  t.ok(stored.rows[0].n >= 4, 'the hash is the audit trail\'s');
  t.notOk(JSON.stringify(exported.json.auditEvents).includes(acsUserId), 'events hold no ACS id');
  t.equal(exported.json.auditEventsTruncated, false, 'every event');

  // More events than an export holds: it says that it is cut short, rather than being silent.
  await svc.db.query("INSERT INTO audit_events (event, user_hash) SELECT 'token_issued', $1 FROM generate_series(1, 1000)", [exported.json.userHash]);
  const long = await svc.request({ url: `/admin/identities/${enc(acsUserId)}/export`, token: admin });
  t.equal(long.statusCode, 200);
  t.equal(long.json.auditEvents.length, 1000);
  t.equal(long.json.auditEventsTruncated, true, 'cut short, and says so');

  const gone = await svc.request({ url: `/admin/identities/${NOBODY}/export`, token: admin });
  t.equal(gone.statusCode, 404);
});

t.test('revoke: the user\'s tokens stop; 404 for nobody; ACS down 503, ACS refusing 502', async (t) => {
  const admin = appToken(svc);
  const { token, acsUserId } = await userWithIdentity(svc);
  const issued = await svc.request({ url: '/api/token', token });
  const revoked = await svc.request({ method: 'POST', url: `/admin/identities/${enc(acsUserId)}/revoke`, token: admin });
  t.equal(revoked.statusCode, 204);
  t.notOk(svc.acs.isTokenValid(issued.json.token), 'the token is revoked in ACS');
  const audited = await svc.app.audit.flush().then(() => svc.db.query("SELECT details FROM audit_events WHERE event = 'admin_operation' AND details->>'operation' = 'revoke'"));
  t.ok(audited.rows.some((row) => row.details.by === OPERATOR_APP), 'audited with the operator application');

  const nobody = await svc.request({ method: 'POST', url: `/admin/identities/${NOBODY}/revoke`, token: admin });
  t.equal(nobody.statusCode, 404);

  svc.acs.injectFault({ status: 503, times: Infinity, operations: ['revokeTokens'] });
  const down = await svc.request({ method: 'POST', url: `/admin/identities/${enc(acsUserId)}/revoke`, token: admin });
  t.equal(down.statusCode, 503);
  t.equal(down.json.code, 'acs_unavailable');
  t.ok(down.headers['retry-after']);
  svc.acs.clearFaults();
  svc.acs.injectFault({ status: 403, code: 'Forbidden', times: Infinity, operations: ['revokeTokens'] });
  const refused = await svc.request({ method: 'POST', url: `/admin/identities/${enc(acsUserId)}/revoke`, token: admin });
  t.equal(refused.statusCode, 502);
});

t.test('delete with ACS up: 200 and a confirmed receipt without the clear id', async (t) => {
  const admin = appToken(svc);
  const { token, acsUserId } = await userWithIdentity(svc);
  const deleted = await svc.request({ method: 'DELETE', url: `/admin/identities/${enc(acsUserId)}`, token: admin });
  t.equal(deleted.statusCode, 200);
  t.equal(deleted.json.status, 'confirmed');
  t.equal(deleted.json.requestedBy, OPERATOR_APP);
  t.ok(deleted.json.confirmedAt);
  t.notOk(svc.acs.hasIdentity(acsUserId), 'ACS deleted it');
  t.equal((await svc.request({ url: '/api/user', token })).statusCode, 404, 'the mapping is gone');
  const row = await svc.db.query('SELECT * FROM erasure_receipts WHERE id = $1', [deleted.json.id]);
  t.equal(row.rows[0].acs_user_id, null, 'no clear id once confirmed');
  t.notOk(JSON.stringify(row.rows[0]).includes(acsUserId));
  const again = await svc.request({ method: 'DELETE', url: `/admin/identities/${enc(acsUserId)}`, token: admin });
  t.equal(again.statusCode, 404, 'nothing left to delete');
  const receipt = await svc.request({ url: `/admin/erasures/${deleted.json.id}`, token: admin });
  t.same(receipt.json, deleted.json);
  const unknown = await svc.request({ url: `/admin/erasures/${randomUUID()}`, token: admin });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json.code, 'erasure_receipt_not_found');
});

t.test('delete failing after the mapping was detached: the receipt stays, and the retry confirms it', async (t) => {
  const admin = appToken(svc);
  const { acsUserId } = await userWithIdentity(svc);
  // The database refuses the completing step (the queued deletion's removal) of this user only.
  await svc.db.query(`CREATE FUNCTION refuse_completion() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF OLD.acs_user_id = '${acsUserId}' THEN RAISE EXCEPTION 'completion refused'; END IF; RETURN OLD; END $$`);
  await svc.db.query('CREATE TRIGGER refuse_completion BEFORE DELETE ON acs_identity_deletions FOR EACH ROW EXECUTE FUNCTION refuse_completion()');
  const dropTrigger = async () => {
    await svc.db.query('DROP TRIGGER IF EXISTS refuse_completion ON acs_identity_deletions');
    await svc.db.query('DROP FUNCTION IF EXISTS refuse_completion()');
  };
  t.teardown(dropTrigger);
  const failed = await svc.request({ method: 'DELETE', url: `/admin/identities/${enc(acsUserId)}`, token: admin });
  t.ok(failed.statusCode >= 500, `failed (${failed.statusCode})`);
  t.notOk(svc.acs.hasIdentity(acsUserId), 'ACS deleted it before the failure');
  const { rows: kept } = await svc.db.query('SELECT id FROM erasure_receipts WHERE acs_user_id = $1', [acsUserId]);
  t.equal(kept.length, 1, 'the receipt is kept: the mapping was detached');

  await dropTrigger();
  await svc.db.query('UPDATE acs_identity_deletions SET next_attempt_at = now()');
  await svc.app.identityDeletions.retryDue();
  const receipt = await svc.request({ url: `/admin/erasures/${kept[0]?.id}`, token: admin });
  t.equal(receipt.json.status, 'confirmed', 'the retry confirmed it');
});

t.test('delete with ACS down: 202, queued; the retry completes it and the receipt shows the confirmation', async (t) => {
  const admin = appToken(svc);
  const { acsUserId } = await userWithIdentity(svc);
  svc.acs.injectFault({ status: 503, times: Infinity, operations: ['deleteIdentity'] });
  const queued = await svc.request({ method: 'DELETE', url: `/admin/identities/${enc(acsUserId)}`, token: admin });
  t.equal(queued.statusCode, 202);
  t.equal(queued.json.status, 'queued');
  t.equal(queued.json.confirmedAt, null);
  t.ok(svc.acs.hasIdentity(acsUserId), 'ACS still has it');
  const pending = await svc.db.query('SELECT acs_user_id FROM erasure_receipts WHERE id = $1', [queued.json.id]);
  t.equal(pending.rows[0].acs_user_id, acsUserId, 'held until ACS confirms');

  svc.acs.clearFaults();
  await svc.db.query('UPDATE acs_identity_deletions SET next_attempt_at = now()');
  await svc.app.identityDeletions.retryDue();
  t.notOk(svc.acs.hasIdentity(acsUserId), 'the retry deleted it');
  const receipt = await svc.request({ url: `/admin/erasures/${queued.json.id}`, token: admin });
  t.equal(receipt.json.status, 'confirmed');
  t.ok(Date.parse(receipt.json.confirmedAt) >= Date.parse(receipt.json.requestedAt));
  const row = await svc.db.query('SELECT * FROM erasure_receipts WHERE id = $1', [queued.json.id]);
  t.equal(row.rows[0].acs_user_id, null, 'no clear id once confirmed');

  // Confirmed receipts go after the retention; pending ones never do.
  await svc.db.query("UPDATE erasure_receipts SET requested_at = now() - interval '400 days' WHERE id = $1", [queued.json.id]);
  t.ok(await svc.app.erasureReceipts.purgeOlderThan(365) >= 1);
  t.equal((await svc.request({ url: `/admin/erasures/${queued.json.id}`, token: admin })).statusCode, 404, 'purged');
});

t.test('a tenant\'s users page by page, each once', async (t) => {
  const admin = appToken(svc);
  const tenantId = randomUUID();
  const other = svc.entra.tenantId;
  // Users of another allowed tenant are made through the store directly: this service allows one tenant.
  const objectIds = Array.from({ length: 5 }, () => randomUUID()).sort();
  for (const [i, objectId] of objectIds.entries()) {
    await svc.db.query("INSERT INTO acs_identities (tenant_id, object_id, acs_user_id, acs_resource) VALUES ($1, $2, $3, '')", [tenantId, objectId, `8:acs:page_00000000-0000-4000-8000-00000000000${i}`]);
  }
  await userWithIdentity(svc, other);
  const seen: string[] = [];
  let url: string | null = `/admin/tenants/${tenantId.toUpperCase()}/identities?limit=2`;
  let pages = 0;
  while (url) {
    const page = await svc.request({ url, token: admin });
    t.equal(page.statusCode, 200);
    t.ok(page.json.identities.length <= 2);
    seen.push(...page.json.identities.map((identity: { user: { objectId: string } }) => identity.user.objectId));
    url = page.json.next;
    pages++;
  }
  t.equal(pages, 3);
  t.same(seen, objectIds, 'every user once, in order, none of the other tenant');
  const empty = await svc.request({ url: `/admin/tenants/${randomUUID()}/identities`, token: admin });
  t.same(empty.json, { identities: [], next: null });
});

t.test('the admin rate limit: 429 per operator application', async (t) => {
  const limited = await startTestService(t, { ADMIN_RATE_LIMIT_MAX: '1' });
  const token = appToken(limited);
  const other = appToken(limited, { appId: randomUUID() });
  const urls = everyOperation(limited.entra.tenantId);
  t.equal((await limited.request({ ...urls[0]!, token })).statusCode, 404, 'the first passes');
  for (const request of urls) {
    const refused = await limited.request({ ...request, token });
    t.equal(refused.statusCode, 429, `${request.method} ${request.url}: 429`);
    t.equal(refused.json.code, 'rate_limited');
    t.ok(refused.headers['retry-after']);
  }
  t.equal((await limited.request({ ...urls[0]!, token: other })).statusCode, 404, 'another application has its own budget');
  t.equal((await limited.db.query('SELECT count(*)::int AS n FROM tenant_offboardings')).rows[0].n, 0, 'no offboarding started');
});

t.test('database down: 503 on every admin operation', async (t) => {
  const down = await startTestService(t, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', DATABASE_TIMEOUT_MS: '1000' });
  const token = appToken(down);
  for (const { method, url } of everyOperation(down.entra.tenantId)) {
    const response = await down.request({ method, url, token });
    t.equal(response.statusCode, 503, `${method} ${url}: 503`);
    t.equal(response.json.code, 'database_unavailable');
  }
});

t.test('a body over 16 KiB: 413 on revoke, delete and offboarding', async (t) => {
  const admin = appToken(svc);
  const requests = [['POST', `/admin/identities/${NOBODY}/revoke`], ['DELETE', `/admin/identities/${NOBODY}`], ['POST', `/admin/tenants/${randomUUID()}/offboarding`]] as const;
  for (const [method, url] of requests) {
    const big = await svc.request({ method, url, token: admin, headers: { 'content-type': 'application/json' }, body: `"${'x'.repeat(20_000)}"` });
    t.equal(big.statusCode, 413, `${method} ${url}: 413`);
  }
});

t.test('admin deletions and revocations are paced as administrators\' work, not spent from the user\'s ACS-call budget', async (t) => {
  const budgeted = await startTestService(t, { ACS_CALLS_PER_USER_PER_MINUTE: '2' });
  const admin = appToken(budgeted);
  /** A user who has spent their budget: creation and a token, then refused. */
  const spentUser = async () => {
    const user = await userWithIdentity(budgeted);
    t.equal((await budgeted.request({ url: '/api/token', token: user.token })).statusCode, 200);
    const refused = await budgeted.request({ method: 'POST', url: '/api/token/revoke', token: user.token });
    t.equal(refused.statusCode, 429, 'the user\'s own budget is spent');
    t.equal(refused.json.code, 'acs_call_budget_exceeded');
    return user;
  };
  const revoked = await spentUser();
  const revoke = await budgeted.request({ method: 'POST', url: `/admin/identities/${enc(revoked.acsUserId)}/revoke`, token: admin });
  t.equal(revoke.statusCode, 204, 'an admin still revokes their tokens');
  const deleted = await spentUser();
  const erase = await budgeted.request({ method: 'DELETE', url: `/admin/identities/${enc(deleted.acsUserId)}`, token: admin });
  t.equal(erase.statusCode, 200, 'an admin still deletes them');
  t.notOk(budgeted.acs.hasIdentity(deleted.acsUserId));

  // The admin's calls counted against no user: a user who asks now has their whole budget.
  const other = await userWithIdentity(budgeted);
  t.equal((await budgeted.request({ url: '/api/token', token: other.token })).statusCode, 200, 'other users are not throttled');
  t.equal((await budgeted.request({ method: 'POST', url: '/api/token/revoke', token: revoked.token })).statusCode, 429, 'the revoked user\'s budget stays spent');
});
