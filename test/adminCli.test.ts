// `npm run admin`: administrators' deletions, revocations and tenant offboardings from a shell,
// on the database and ACS directly with the service's settings (no HTTP service runs here).
// Usage errors exit 2 and change nothing; work not all done exits 1.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import t from 'tap';
import { startAcsEmulator } from '../emulators/acsEmulator.js';
import { acsIdPrefix, seedIdentities } from './helpers/seedIdentities.js';
import { startServiceProcess } from './helpers/serviceProcess.js';
import { createTestDatabase } from './helpers/testDatabase.js';
import { testServiceEnv } from './helpers/testServiceEnv.js';

// Each subtest starts the CLI as a process of its own (tsx): a time budget of its own (README, Tests).
t.setTimeout(240_000);

const resourceName = randomUUID();
const [acs, database] = await Promise.all([startAcsEmulator({ resourceName }), createTestDatabase()]);
const db = new pg.Pool({ connectionString: database.url, max: 2 });
db.on('error', () => undefined);
const folder = mkdtempSync(join(tmpdir(), 'acs-admin-cli-'));
t.teardown(async () => { await db.end(); await acs.close(); await database.drop(); rmSync(folder, { recursive: true, force: true }); });
t.afterEach(() => acs.clearFaults());

const env = {
  ...testServiceEnv({ entra: { tenantId: randomUUID(), clientId: randomUUID(), authorityHost: 'https://login.microsoftonline.com' }, acs, database }),
  ACS_REQUEST_TIMEOUT_MS: '1000', ACS_MAX_RETRIES: '0', ADMIN_ACS_CALLS_PER_SECOND: '100',
};
const prefix = acsIdPrefix(resourceName);

type Tap = Parameters<typeof startServiceProcess>[0];

async function admin(t: Tap, args: string[], environment: Record<string, string> = env) {
  const run = await startServiceProcess(t, environment, 'src/admin/adminCli.ts', undefined, args);
  return { code: await run.exited, ...run.output() };
}

async function users(count: number, tenantId = randomUUID()) {
  const { objectIds, acsUserIds } = await seedIdentities(db, acs, prefix, tenantId, count);
  return { tenantId, objectIds, acsUserIds };
}

const mapped = async (acsUserIds: string[]) =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM acs_identities WHERE acs_user_id = ANY($1::text[])', [acsUserIds])).rows[0]!.n;
const queued = async (acsUserIds: string[]) =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM acs_identity_deletions WHERE acs_user_id = ANY($1::text[])', [acsUserIds])).rows[0]!.n;
/** The erasure receipts of the deletions `requestedBy` asked for. */
const receipts = async (requestedBy: string) =>
  (await db.query<{ confirmed: boolean; acs_user_id: string | null; user_hash: string }>(
    'SELECT confirmed_at IS NOT NULL AS confirmed, acs_user_id, user_hash FROM erasure_receipts WHERE requested_by = $1', [requestedBy])).rows;
const adminEvents = async (operation: string) =>
  (await db.query<{ by: string }>("SELECT details->>'by' AS by FROM audit_events WHERE event = 'admin_operation' AND details->>'operation' = $1 ORDER BY id", [operation])).rows.map((row) => row.by);

t.test('usage errors: exit 2, the problem and the usage on stderr, nothing changed', async (t) => {
  const { tenantId, objectIds, acsUserIds } = await users(1);
  const file = join(folder, 'bad.csv');
  writeFileSync(file, `# users\n${tenantId},${objectIds[0]}\n${tenantId};not-a-guid\n`);
  const cases: Array<[string[], RegExp]> = [
    [[], /no command given/],
    [['erase'], /unknown command "erase"/],
    [['delete', '--tenant', tenantId, '--oid', objectIds[0]!], /--requested-by is required/],
    [['delete', '--tenant', tenantId, '--oid', objectIds[0]!, '--requested-by', '  '], /--requested-by is required/],
    [['delete', '--tenant', tenantId, '--oid', 'nobody', '--requested-by', 'ops'], /--oid "nobody" is not an object id/],
    [['delete', '--tenant', tenantId, '--requested-by', 'ops'], /--oid is required/],
    [['delete', '--tenant', tenantId, '--oid', objectIds[0]!, '--from-file', file, '--requested-by', 'ops'], /either --from-file or --tenant and --oid/],
    [['delete', '--from-file', file, '--requested-by', 'ops'], new RegExp(`bad\\.csv:3: expected "tenant,oid" \\(two GUIDs\\), found "${tenantId};not-a-guid"`)],
    [['delete', '--from-file', join(folder, 'missing.csv'), '--requested-by', 'ops'], /cannot read .*missing\.csv/],
    [['delete', '--tenant', tenantId, '--oid', objectIds[0]!, '--requested-by', 'ops', '--force'], /Unknown option '--force'/],
    [['offboard-tenant', '--requested-by', 'ops'], /--tenant is required/],
    [['offboard-tenant', '--tenant', 'contoso', '--requested-by', 'ops'], /--tenant "contoso" is not a tenant id/],
    [['revoke', '--tenant', tenantId, '--oid', objectIds[0]!], /--requested-by is required/],
    [['delete', '--tenant', tenantId, '--oid', objectIds[0]!, '--requested-by', 'ops\u0007bell'], /--requested-by has a control character/],
  ];
  for (const [args, message] of cases) {
    const run = await admin(t, args);
    t.equal(run.code, 2, `${args.join(' ')}: exit 2`);
    t.match(run.stderr, message, `${args.join(' ')}: says why`);
    t.match(run.stderr, /Usage: npm run admin -- <command>/);
  }
  t.equal(await mapped(acsUserIds), 1, 'the user is still mapped');
  t.ok(acs.hasIdentity(acsUserIds[0]!), 'and in ACS');
  const help = await admin(t, ['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /offboard-tenant --tenant T --requested-by WHO/);
});

t.test('delete one user: identity and mapping gone, who asked recorded; a user without one: said so', async (t) => {
  const { tenantId, objectIds, acsUserIds } = await users(1);
  const run = await admin(t, ['delete', '--tenant', tenantId.toUpperCase(), '--oid', objectIds[0]!, '--requested-by', 'ops:ticket-7']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, `${tenantId},${objectIds[0]}: deleted`);
  t.equal(await mapped(acsUserIds), 0);
  t.equal(await queued(acsUserIds), 0);
  t.notOk(acs.hasIdentity(acsUserIds[0]!), 'gone from ACS');
  t.ok((await adminEvents('delete')).includes('ops:ticket-7'), 'the audit trail names who asked');
  const [receipt, ...more] = await receipts('ops:ticket-7');
  t.same(more, [], 'one erasure receipt');
  t.ok(receipt?.confirmed, 'confirmed, as ACS confirmed');
  t.equal(receipt?.acs_user_id, null, 'with no clear user id');

  const again = await admin(t, ['delete', '--tenant', tenantId, '--oid', objectIds[0]!, '--requested-by', 'ops:ticket-7']);
  t.equal(again.code, 0);
  t.match(again.stdout, `${tenantId},${objectIds[0]}: no identity`);
});

t.test('delete --from-file: every listed user; comments and blank lines skipped', async (t) => {
  const first = await users(2);
  const second = await users(1);
  const file = join(folder, 'users.csv');
  writeFileSync(file, [
    '# tenant,oid', '', ...first.objectIds.map((oid) => `${first.tenantId},${oid}`), ` ${second.tenantId} , ${second.objectIds[0]} `, `${second.tenantId},${randomUUID()}`, '',
  ].join('\n'));
  const run = await admin(t, ['delete', '--from-file', file, '--requested-by', 'ops:bulk']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /4 user\(s\): 4 done\./);
  t.match(run.stdout, /: no identity/);
  const all = [...first.acsUserIds, ...second.acsUserIds];
  t.equal(await mapped(all), 0);
  t.same(all.filter((id) => acs.hasIdentity(id)), []);
  const erased = await receipts('ops:bulk');
  t.equal(erased.length, 3, 'a receipt for each user deleted');
  t.match(erased, Array.from({ length: 3 }, () => ({ confirmed: true, acs_user_id: null, user_hash: String })), 'each confirmed, with no clear user id');
});

t.test('delete while ACS fails: the mapping goes, the ACS deletion stays queued, exit 1', async (t) => {
  const { tenantId, objectIds, acsUserIds } = await users(1);
  acs.injectFault({ status: 503, times: Infinity, operations: ['deleteIdentity'] });
  const run = await admin(t, ['delete', '--tenant', tenantId, '--oid', objectIds[0]!, '--requested-by', 'ops:queued']);
  t.equal(run.code, 1);
  t.match(run.stdout, /mapping deleted; the ACS deletion failed and is queued \(the service retries it\)/);
  t.equal(await mapped(acsUserIds), 0);
  t.equal(await queued(acsUserIds), 1, 'queued for the service to retry');
  t.ok(acs.hasIdentity(acsUserIds[0]!));
  const waiting = await receipts('ops:queued');
  t.equal(waiting.length, 1, 'a receipt');
  t.match(waiting, [{ confirmed: false, acs_user_id: acsUserIds[0], user_hash: String }], 'waiting for ACS to confirm');
});

t.test('delete --from-file where one user fails: the others are still deleted, a summary, exit 1', async (t) => {
  const { tenantId, objectIds, acsUserIds } = await users(3);
  // The database refuses the completing step of the first user's deletion (after ACS deleted it).
  await db.query(`CREATE FUNCTION refuse_cli_completion() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF OLD.acs_user_id = '${acsUserIds[0]}' THEN RAISE EXCEPTION 'completion refused'; END IF; RETURN OLD; END $$`);
  await db.query('CREATE TRIGGER refuse_cli_completion BEFORE DELETE ON acs_identity_deletions FOR EACH ROW EXECUTE FUNCTION refuse_cli_completion()');
  t.teardown(async () => {
    await db.query('DROP TRIGGER IF EXISTS refuse_cli_completion ON acs_identity_deletions');
    await db.query('DROP FUNCTION IF EXISTS refuse_cli_completion()');
  });
  const file = join(folder, 'failing.csv');
  writeFileSync(file, objectIds.map((oid) => `${tenantId},${oid}`).join('\n'));
  const run = await admin(t, ['delete', '--from-file', file, '--requested-by', 'ops:partly']);
  t.equal(run.code, 1, run.stderr);
  t.match(run.stdout, new RegExp(`${tenantId},${objectIds[0]}: failed: .*completion refused`));
  t.match(run.stdout, /3 user\(s\): 2 done, 1 failed\./);
  t.same(acsUserIds.slice(1).filter((id) => acs.hasIdentity(id)), [], 'the users after the failing one are deleted');
  t.equal(await mapped(acsUserIds), 0);
});

t.test('revoke: ACS revokes the tokens and the database records it; who asked recorded', async (t) => {
  const { tenantId, objectIds, acsUserIds } = await users(1);
  const revocations = acs.counters.revocations;
  const run = await admin(t, ['revoke', '--tenant', tenantId, '--oid', objectIds[0]!, '--requested-by', 'ops:revoke']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /: revoked/);
  t.equal(acs.counters.revocations, revocations + 1);
  const { rows } = await db.query('SELECT tokens_revoked_at IS NOT NULL AS revoked FROM acs_identities WHERE acs_user_id = $1', [acsUserIds[0]]);
  t.same(rows, [{ revoked: true }]);
  t.ok((await adminEvents('revoke')).includes('ops:revoke'));

  acs.injectFault({ status: 503, times: Infinity, operations: ['revokeTokens'] });
  const failed = await admin(t, ['revoke', '--tenant', tenantId, '--oid', objectIds[0]!, '--requested-by', 'ops:revoke']);
  t.equal(failed.code, 1);
  t.match(failed.stdout, /: failed: .*unavailable/);
});

t.test('offboard-tenant: progress printed, the last line tells what to do; again: done already; status lists it', async (t) => {
  const { tenantId, acsUserIds } = await users(60);
  const run = await admin(t, ['offboard-tenant', '--tenant', tenantId, '--requested-by', 'ops:offboard']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, new RegExp(`Started offboarding job (\\S+) for tenant ${tenantId}: 60 identities\\.`));
  t.match(run.stdout, /: 50 of 60 identities deleted\./, 'progress after each batch');
  t.match(run.stdout, new RegExp(`Tenant ${tenantId} is offboarded: 60 identities deleted\\. Now remove ${tenantId} from AUTH_ALLOWED_TENANTS`));
  t.equal(await mapped(acsUserIds), 0);
  t.same(acsUserIds.filter((id) => acs.hasIdentity(id)), []);
  const jobId = /Started offboarding job (\S+)/.exec(run.stdout)![1]!;
  const erased = await receipts('ops:offboard');
  t.equal(erased.length, 60, 'a receipt for each identity, requested by the job\'s requester');
  t.ok(erased.every((receipt) => receipt.confirmed && receipt.acs_user_id === null), 'each confirmed, with no clear user id');

  const again = await admin(t, ['offboard-tenant', '--tenant', tenantId, '--requested-by', 'ops:other']);
  t.equal(again.code, 0);
  t.match(again.stdout, `Tenant ${tenantId} was offboarded already (job ${jobId}, requested by ops:offboard).`);

  const status = await admin(t, ['status', '--tenant', tenantId]);
  t.equal(status.code, 0);
  t.match(status.stdout, new RegExp(`${jobId} completed requested by ops:offboard at \\S+: Tenant ${tenantId} is offboarded`));
  const one = await admin(t, ['status', '--job', jobId]);
  t.match(one.stdout, `${jobId} completed`);
  const none = await admin(t, ['status', '--job', randomUUID()]);
  t.equal(none.code, 1);
  t.match(none.stderr, /No offboarding job/);
});

t.test('offboard-tenant while another worker holds the job: says so, waits, then takes it over', async (t) => {
  const { tenantId, acsUserIds } = await users(3);
  // A job started elsewhere (the service) whose worker died: its lease lapses once the CLI is up.
  const jobId = randomUUID();
  await db.query(
    `INSERT INTO tenant_offboardings (id, tenant_id, acs_resource, requested_by, total, worker_id, worker_lease_until)
     VALUES ($1, $2, $3, 'ops:service', 3, $4, now() + interval '4 seconds')`, [jobId, tenantId, new URL(acs.endpoint).hostname, randomUUID()]);
  await db.query(`INSERT INTO tenant_offboarding_items (job_id, object_id, acs_user_id)
    SELECT $1, object_id, acs_user_id FROM acs_identities WHERE tenant_id = $2`, [jobId, tenantId]);
  const run = await admin(t, ['offboard-tenant', '--tenant', tenantId, '--requested-by', 'ops:cli']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, `Resuming offboarding job ${jobId} for tenant ${tenantId} (requested by ops:service)`);
  t.match(run.stdout, `Another worker (the service, or another run of this command) runs job ${jobId}: waiting`);
  t.match(run.stdout, `Tenant ${tenantId} is offboarded: 3 identities deleted.`);
  t.equal(await mapped(acsUserIds), 0);
  t.same(acsUserIds.filter((id) => acs.hasIdentity(id)), []);
});

t.test("the service's settings are required: a missing one is named, exit 1", async (t) => {
  const missing: Record<string, string> = { ...env };
  delete missing.DATABASE_URL;
  const run = await admin(t, ['status'], missing);
  t.equal(run.code, 1);
  t.match(run.stderr, /DATABASE_URL/);
  t.match(run.stderr, /See \.env\.example/);
});
