// Tenant offboarding: every identity of a tenant deleted the way DELETE /api/user deletes one,
// while ACS fails part of the time, stopped midway and resumed, with no identity left in ACS or
// in the database, each with an erasure receipt; its ACS calls paced apart from the users'
// budgets; one worker per job across processes, another taking over when its lease lapses. The 5,000-identity run,
// with the CLI killed midway, is long: it runs once per CI run (LONG_TESTS=1, the first pass).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import pg from 'pg';
import t from 'tap';
import { startAcsEmulator, type AcsEmulator } from '../emulators/acsEmulator.js';
import { AdminPacer } from '../src/admin/adminPacing.js';
import { AdminDeletion, type AdminCollaborators } from '../src/admin/adminDeletion.js';
import { TenantOffboardings } from '../src/admin/tenantOffboarding.js';
import { entraCaller } from '../src/auth/caller.js';
import { deletionSettings } from '../src/identities/deletionSettings.js';
import { projectFile } from '../src/projectFiles.js';
import { acsIdPrefix, seedIdentities } from './helpers/seedIdentities.js';
import { createTestDatabase, TEST_DATABASE } from './helpers/testDatabase.js';
import { startTestService, type TestService } from './helpers/testService.js';
import { testServiceEnv } from './helpers/testServiceEnv.js';

// Services, and in the long run two CLI processes over 5,000 identities: a budget of its own.
t.setTimeout(240_000);

const LONG = process.env.LONG_TESTS === '1';

/** `count` users of `tenantId` with identities, as the service would have made them; their ACS ids. */
async function seed(db: pg.Pool, acs: AcsEmulator, prefix: string, tenantId: string, count: number): Promise<string[]> {
  return (await seedIdentities(db, acs, prefix, tenantId, count)).acsUserIds;
}

/**
 * ACS failing part of the time: after every `every` requests, the next deletion fails (503, or
 * throttled now and then), so about one deletion in `every`, however fast or slow they come.
 */
function flakyDeletions(acs: AcsEmulator, every: number): () => void {
  let round = 0;
  let armedAt = acs.counters.requests;
  const timer = setInterval(() => {
    if (acs.counters.requests - armedAt < every) return;
    armedAt = acs.counters.requests;
    round++;
    acs.injectFault({ ...(round % 5 === 0 ? { status: 429, retryAfterSeconds: 1 } : { status: 503 }), operations: ['deleteIdentity'] });
  }, 2);
  return () => { clearInterval(timer); acs.clearFaults(); };
}

/** Resolves once a worker holds the job (polled, whatever the machine's speed). */
async function untilHeld(db: pg.Pool, jobId: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { rows } = await db.query('SELECT 1 FROM tenant_offboardings WHERE id = $1 AND worker_id IS NOT NULL', [jobId]);
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no worker held job ${jobId} within 10 s`);
}

async function remaining(db: pg.Pool, tenantId: string, acsUserIds: string[]) {
  const mapped = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM acs_identities WHERE tenant_id = $1', [tenantId]);
  const queued = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM acs_identity_deletions WHERE acs_user_id = ANY($1::text[])', [acsUserIds]);
  return { mapped: mapped.rows[0]!.n, queued: queued.rows[0]!.n };
}

/** What the admin HTTP API would hand the offboarding: the service's own pool, store, ACS client and audit trail. */
function serviceCollaborators(svc: TestService, callsPerSecond: number): AdminCollaborators {
  const { app } = svc;
  return {
    pool: app.pool, store: app.identityStore, acs: app.acs, audit: app.audit, hashUser: app.hashUser, log: app.log,
    pacer: new AdminPacer(callsPerSecond),
    deletions: deletionSettings({ ACS_DELETION_RETRY_INTERVAL_SECONDS: 1 }, 1000),
    scope: { resource: new URL(svc.acs.endpoint).hostname, adoptUnknown: true },
  };
}

/** The emulator's prefix of identity ids, from an identity the service created over HTTP. */
async function idPrefix(svc: TestService): Promise<string> {
  const created = await svc.request({ method: 'POST', url: '/api/user', token: svc.userToken() });
  const id: string = created.json.acsUserIdentity;
  return id.slice(0, id.lastIndexOf('_') + 1);
}

/** A service, a tenant with five identities, and a job started to offboard it with batches of five. */
async function fiveIdentityJob(t: Parameters<typeof startTestService>[0], callsPerSecond: number, requestedBy: string) {
  const svc = await startTestService(t);
  const prefix = await idPrefix(svc);
  const tenant = randomUUID();
  const ids = await seed(svc.db, svc.acs, prefix, tenant, 5);
  const use = serviceCollaborators(svc, callsPerSecond);
  const offboardings = new TenantOffboardings(use, new AdminDeletion(use), 5);
  const { job } = await offboardings.start(tenant, requestedBy);
  return { svc, prefix, tenant, ids, use, offboardings, job };
}

t.test('50 identities, ACS failing part of the time, stopped after a batch and resumed: none left; other tenants untouched', async (t) => {
  const svc = await startTestService(t, { ACS_MAX_RETRIES: '0', ACS_CIRCUIT_BREAKER_THRESHOLD: '1000', ACS_DELETION_RETRY_INTERVAL_SECONDS: '1' });
  const prefix = await idPrefix(svc);
  const tenant = randomUUID();
  const other = randomUUID();
  const { objectIds, acsUserIds: ids } = await seedIdentities(svc.db, svc.acs, prefix, tenant, 50);
  const others = await seed(svc.db, svc.acs, prefix, other, 3);
  const use = serviceCollaborators(svc, 1000);
  const offboardings = new TenantOffboardings(use, new AdminDeletion(use), 10);

  const first = await offboardings.start(tenant, 'ops:ticket-1');
  t.ok(first.created);
  t.match(first.job, { tenantId: tenant, state: 'running', total: 50, deleted: 0, requestedBy: 'ops:ticket-1' });
  const again = await offboardings.start(tenant, 'someone else');
  t.notOk(again.created, 'started twice: the same job');
  t.equal(again.job.id, first.job.id);
  t.equal(again.job.requestedBy, 'ops:ticket-1');
  t.same(await offboardings.running(), [first.job.id], 'under way: a replica that starts would resume it');

  const stopFaults = flakyDeletions(svc.acs, 4);
  t.teardown(stopFaults);
  const stop = new AbortController();
  const stopped = await offboardings.run(first.job.id, { signal: stop.signal, onProgress: () => stop.abort() });
  t.equal(stopped.state, 'running', 'stopped after one batch');
  t.ok(stopped.deleted + stopped.failed <= 10 && stopped.deleted < 50, `one batch's progress committed: ${stopped.deleted} deleted, ${stopped.failed} failed`);

  const progress: number[] = [];
  let failing = stopped.failed;
  const done = await offboardings.run(first.job.id, { onProgress: (status) => { progress.push(status.deleted); failing = Math.max(failing, status.failed); } });
  stopFaults();
  t.match(done, { state: 'completed', total: 50, deleted: 50, failed: 0 });
  t.match(done.message, new RegExp(`remove ${tenant} from AUTH_ALLOWED_TENANTS`));
  t.ok(progress.length >= 4, `progress reported per batch (${progress.length} reports)`);
  t.ok(failing > 0, `ACS failed some deletions, which were retried (up to ${failing} waiting at once)`);

  // Once completed, the job keeps counts and who asked, not whom it deleted.
  const { rows: items } = await svc.db.query('SELECT * FROM tenant_offboarding_items WHERE job_id = $1', [first.job.id]);
  t.same(items, [], "the job's items are gone once it completed");
  const { rows: jobs } = await svc.db.query('SELECT * FROM tenant_offboardings WHERE id = $1', [first.job.id]);
  const kept = JSON.stringify(jobs);
  t.same([...objectIds, ...ids].filter((id) => kept.includes(id)), [], 'no object id or ACS id in clear in the completed job');

  t.same(await remaining(svc.db, tenant, ids), { mapped: 0, queued: 0 }, 'no mapping and no queued deletion left');
  t.same(ids.filter((id) => svc.acs.hasIdentity(id)), [], 'no identity left in ACS');
  t.same(others.filter((id) => svc.acs.hasIdentity(id)).length, 3, "another tenant's identities stay");
  t.equal((await remaining(svc.db, other, others)).mapped, 3);

  t.same(await offboardings.running(), [], 'none under way once completed');
  const after = await offboardings.start(tenant, 'ops:ticket-2');
  t.notOk(after.created, 'started again once done: the same job, completed');
  t.equal(after.job.id, first.job.id);
  t.equal(after.job.state, 'completed');
  t.same((await offboardings.list(tenant)).map((job) => job.id), [first.job.id]);

  await svc.app.audit.flush();
  const { rows: audit } = await svc.db.query<{ operation: string; n: number; by: string }>(
    `SELECT details->>'operation' AS operation, count(*)::int AS n, min(details->>'by') AS by FROM audit_events
      WHERE event = 'admin_operation' AND details->>'offboardingId' = $1 GROUP BY 1 ORDER BY 1`, [first.job.id]);
  t.same(audit, [
    { operation: 'delete', n: 50, by: 'ops:ticket-1' },
    { operation: 'offboard_completed', n: 1, by: 'ops:ticket-1' },
    { operation: 'offboard_started', n: 1, by: 'ops:ticket-1' },
  ], 'who asked is in the audit trail');
  const { rows: receipts } = await svc.db.query<{ confirmed: boolean; n: number }>(
    `SELECT confirmed_at IS NOT NULL AND acs_user_id IS NULL AS confirmed, count(*)::int AS n FROM erasure_receipts
      WHERE requested_by = 'ops:ticket-1' GROUP BY 1`);
  t.same(receipts, [{ confirmed: true, n: 50 }], 'an erasure receipt for each identity, confirmed, with no clear user id');
});

t.test('a user created while the tenant is offboarded is deleted too before the job completes', async (t) => {
  const { svc, prefix, tenant, ids, offboardings, job } = await fiveIdentityJob(t, 1000, 'ops');
  const late = await seed(svc.db, svc.acs, prefix, tenant, 2);
  const done = await offboardings.run(job.id);
  t.match(done, { state: 'completed', total: 7, deleted: 7 });
  t.same(await remaining(svc.db, tenant, [...ids, ...late]), { mapped: 0, queued: 0 });
  t.same([...ids, ...late].filter((id) => svc.acs.hasIdentity(id)), []);
});

t.test('one worker per job across processes: another waits while it holds the job, and takes over once its lease lapses', async (t) => {
  const svc = await startTestService(t);
  const prefix = await idPrefix(svc);
  const tenant = randomUUID();
  const ids = await seed(svc.db, svc.acs, prefix, tenant, 30);
  // Two processes' offboardings, each with its own pacer.
  const [first, second] = [serviceCollaborators(svc, 200), serviceCollaborators(svc, 200)].map((use) => new TenantOffboardings(use, new AdminDeletion(use), 10));
  const { job } = await first!.start(tenant, 'ops');
  let holding!: () => void;
  const held = new Promise<void>((resolve) => { holding = resolve; });
  const firstBatches: number[] = [];
  const running = first!.run(job.id, { onProgress: (status) => { firstBatches.push(status.deleted); holding(); } });
  await held;
  let waited = 0;
  const secondBatches: number[] = [];
  const [end, alsoEnd] = await Promise.all([running, second!.run(job.id, { onWaiting: () => waited++, onProgress: (status) => secondBatches.push(status.deleted) })]);
  t.equal(end.state, 'completed');
  t.equal(alsoEnd.state, 'completed', 'the waiting worker sees it completed');
  t.equal(waited, 1, 'the second worker waited');
  t.same(secondBatches, [], 'and ran no batch');
  t.ok(firstBatches.length >= 3, `the first ran every batch (${firstBatches.length})`);
  t.same(ids.filter((id) => svc.acs.hasIdentity(id)), []);

  // A worker that died holding a job: another takes it over once the lease lapses.
  const late = randomUUID();
  const lateIds = await seed(svc.db, svc.acs, prefix, late, 5);
  const { job: orphan } = await first!.start(late, 'ops');
  await svc.db.query("UPDATE tenant_offboardings SET worker_id = $2, worker_lease_until = now() + interval '1 second' WHERE id = $1", [orphan.id, randomUUID()]);
  let orphanWaited = false;
  const started = performance.now();
  const taken = await second!.run(orphan.id, { onWaiting: () => { orphanWaited = true; } });
  t.ok(orphanWaited, 'it waited for the lease');
  t.match(taken, { state: 'completed', deleted: 5 });
  t.ok(performance.now() - started >= 900, 'until the lease lapsed');
  t.same(lateIds.filter((id) => svc.acs.hasIdentity(id)), []);
  const { rows } = await svc.db.query('SELECT worker_id FROM tenant_offboardings WHERE id = ANY($1::uuid[])', [[job.id, orphan.id]]);
  t.same(rows, [{ worker_id: null }, { worker_id: null }], 'released once completed');
});

t.test('a batch that outlasts the lease: its worker renews it meanwhile, and no other worker takes the job over', async (t) => {
  const svc = await startTestService(t);
  const prefix = await idPrefix(svc);
  const tenant = randomUUID();
  const ids = await seed(svc.db, svc.acs, prefix, tenant, 5);
  // A short lease: with 10 calls a second and no ACS bound, the job's lease is 2 s.
  const make = () => { const base = serviceCollaborators(svc, 10); return { ...base, deletions: { ...base.deletions, leaseSeconds: 0 } }; };
  const [slow, other] = [make(), make()];
  const first = new TenantOffboardings(slow, new AdminDeletion(slow), 5);
  const second = new TenantOffboardings(other, new AdminDeletion(other), 5);
  const { job } = await first.start(tenant, 'ops:slow');
  // Other admin work ahead on the same pacer: the batch waits about 3 s for its calls.
  const ahead = Promise.all(Array.from({ length: 30 }, () => slow.pacer.spend()));
  const running = first.run(job.id);
  await untilHeld(svc.db, job.id);
  let waited = 0;
  const secondBatches: number[] = [];
  const [end, alsoEnd] = await Promise.all([running, second.run(job.id, { onWaiting: () => waited++, onProgress: (status) => secondBatches.push(status.deleted) })]);
  await ahead;
  t.match(end, { state: 'completed', deleted: 5 });
  t.equal(alsoEnd.state, 'completed');
  t.equal(waited, 1, 'the other worker waited');
  t.same(secondBatches, [], 'and ran no batch: the lease was renewed during the slow one');
  t.same(ids.filter((id) => svc.acs.hasIdentity(id)), []);
  await svc.app.audit.flush();
  await slow.audit.flush();
  await other.audit.flush();
  const { rows } = await svc.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM audit_events WHERE event = 'admin_operation' AND details->>'operation' = 'delete' AND details->>'offboardingId' = $1", [job.id]);
  t.equal(rows[0]!.n, 5, 'each identity deleted once');
});

t.test('a worker whose job was taken over during a batch does not commit it; the job still completes', async (t) => {
  const { svc, tenant, ids, use, offboardings, job } = await fiveIdentityJob(t, 10, 'ops:taken');
  const ahead = Promise.all(Array.from({ length: 10 }, () => use.pacer.spend()));
  const progress: number[] = [];
  const running = offboardings.run(job.id, { onProgress: (status) => progress.push(status.deleted) });
  // Mid-batch (its calls wait behind the pacer's), another worker holds the job, for longer than
  // the first worker's next renewal.
  await untilHeld(svc.db, job.id);
  await svc.db.query("UPDATE tenant_offboardings SET worker_id = $2, worker_lease_until = now() + interval '5 seconds' WHERE id = $1", [job.id, randomUUID()]);
  const end = await running;
  await ahead;
  t.equal(progress[0], 0, "the taken-over batch's results were not committed");
  t.match(end, { state: 'completed', deleted: 5 });
  t.same(ids.filter((id) => svc.acs.hasIdentity(id)), []);
  t.same(await remaining(svc.db, tenant, ids), { mapped: 0, queued: 0 });
});

t.test("admin deletions go at their own pace and never spend (nor wait for) a user's ACS-call budget", async (t) => {
  const svc = await startTestService(t, { ACS_CALLS_PER_USER_PER_MINUTE: '2' });
  const objectId = randomUUID();
  const user = svc.userToken({ objectId });
  t.equal((await svc.request({ method: 'POST', url: '/api/user', token: user })).statusCode, 201, 'the user: 1 call');
  t.equal((await svc.request({ url: '/api/token', token: user })).statusCode, 200, 'the user: 2 calls');
  t.equal((await svc.request({ url: '/api/token', token: user })).statusCode, 429, "the user's budget is spent");

  const use = serviceCollaborators(svc, 20);
  const deleter = new AdminDeletion(use);
  t.equal(await deleter.deleteUser(entraCaller(svc.entra.tenantId, objectId), { requestedBy: 'ops' }), 'deleted', 'deleted although the user has no budget left');
  t.equal((await svc.db.query('SELECT 1 FROM acs_identities WHERE object_id = $1', [objectId])).rowCount, 0);

  const other = svc.userToken();
  const prefix = await idPrefix(svc);
  const tenant = randomUUID();
  await seed(svc.db, svc.acs, prefix, tenant, 10);
  const offboardings = new TenantOffboardings(use, deleter);
  const { job } = await offboardings.start(tenant, 'ops');
  const started = performance.now();
  const running = offboardings.run(job.id);
  // Another user, meanwhile: served, their budget whole.
  t.equal((await svc.request({ method: 'POST', url: '/api/user', token: other })).statusCode, 201);
  t.equal((await svc.request({ url: '/api/token', token: other })).statusCode, 200);
  t.equal((await running).deleted, 10);
  const seconds = (performance.now() - started) / 1000;
  t.ok(seconds >= 0.44, `10 deletions at 20 calls per second took ${seconds.toFixed(2)} s (the first at once, then one per 50 ms: at least 0.45 s)`);
});

/** The CLI as a process of its own, as an operator runs it; `onLine` sees each line it prints. */
function runCli(env: Record<string, string>, args: string[], onLine: (line: string) => void = () => undefined) {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), projectFile('src/admin/adminCli.ts'), ...args], {
    cwd: tmpdir(), env: { PATH: process.env.PATH, _TAPJS_PROCESSINFO_COVERAGE_: '0', ...env },
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as string | null }));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

t.test('5,000 identities, the CLI killed midway (SIGKILL) and run again: completed, none left in ACS or the database', {
  skip: !LONG ? 'long: runs once per CI run, where LONG_TESTS=1 (the first pass); a 50-identity run above covers each pass'
    : TEST_DATABASE === 'pglite' ? 'a killed process needs a database server (PGlite is one session)' : false,
}, async (t) => {
  // Without the HTTP service: the CLI works on the database and ACS alone.
  const resourceName = randomUUID();
  const [acs, database] = await Promise.all([startAcsEmulator({ resourceName }), createTestDatabase()]);
  const db = new pg.Pool({ connectionString: database.url, max: 2 });
  db.on('error', () => undefined);
  t.teardown(async () => { await db.end(); await acs.close(); await database.drop(); });
  const prefix = acsIdPrefix(resourceName);
  const tenant = randomUUID();
  const ids = await seed(db, acs, prefix, tenant, 5000);
  const env = {
    ...testServiceEnv({ entra: { tenantId: randomUUID(), clientId: randomUUID(), authorityHost: 'https://login.microsoftonline.com' }, acs, database }),
    ACS_REQUEST_TIMEOUT_MS: '1000', ACS_MAX_RETRIES: '0', ACS_CIRCUIT_BREAKER_THRESHOLD: '1000',
    ACS_DELETION_RETRY_INTERVAL_SECONDS: '1', ADMIN_ACS_CALLS_PER_SECOND: '1000',
  };
  const requestsBefore = acs.counters.requests;
  const stopFaults = flakyDeletions(acs, 10);
  t.teardown(stopFaults);

  const started = performance.now();
  const first = runCli(env, ['offboard-tenant', '--tenant', tenant, '--requested-by', 'ops:offboard-1'], (line) => {
    const deleted = /: (\d+) of 5000 identities deleted/.exec(line);
    if (deleted && Number(deleted[1]) >= 1500) first.child.kill('SIGKILL');
  });
  const killed = await first.exited;
  t.equal(killed.signal, 'SIGKILL', `killed midway (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  t.match(first.output().stdout, /Started offboarding job \S+ for tenant \S+: 5000 identities/);
  const { rows: [job] } = await db.query<{ id: string; state: string; deleted: number; requested_by: string }>('SELECT id, state, deleted, requested_by FROM tenant_offboardings');
  t.match(job, { state: 'running', requested_by: 'ops:offboard-1' });
  t.ok(job!.deleted >= 1500 && job!.deleted < 5000, `${job!.deleted} deleted when killed`);

  const second = runCli(env, ['offboard-tenant', '--tenant', tenant, '--requested-by', 'ops:offboard-2']);
  const resumed = await second.exited;
  const { stdout } = second.output();
  t.equal(resumed.code, 0, second.output().stderr);
  t.match(stdout, new RegExp(`Resuming offboarding job ${job!.id} for tenant ${tenant} \\(requested by ops:offboard-1\\)`));
  t.match(stdout, new RegExp(`Tenant ${tenant} is offboarded: 5000 identities deleted\\. Now remove ${tenant} from AUTH_ALLOWED_TENANTS`));
  stopFaults();
  t.comment(`5,000 identities offboarded in ${((performance.now() - started) / 1000).toFixed(1)} s, a kill and a resume included`);

  t.same(await remaining(db, tenant, ids), { mapped: 0, queued: 0 }, 'no mapping and no queued deletion left');
  t.equal(ids.filter((id) => acs.hasIdentity(id)).length, 0, 'no identity left in ACS');
  const { rows: [end] } = await db.query('SELECT state, total, deleted, failed FROM tenant_offboardings WHERE id = $1', [job!.id]);
  t.same(end, { state: 'completed', total: 5000, deleted: 5000, failed: 0 });
  // A completed job keeps no items (they named users): the retries show in ACS's requests, one
  // deletion per identity and one more per refused attempt.
  const retries = acs.counters.requests - requestsBefore - ids.length;
  t.ok(retries > 0, `ACS failures were retried (${retries} more deletion requests than identities)`);
});
