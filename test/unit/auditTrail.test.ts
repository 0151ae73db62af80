// The audit trail's batching on a real test database: nothing is written until a flush (or a
// full batch), floods become tallies, a failed write keeps its events for the next one, and the
// bound on waiting events drops and counts the rest.
import t from 'tap';
import { AuditTrail, MAX_PENDING } from '../../src/audit/auditTrail.js';
import { createPool } from '../../src/db/pool.js';
import { createTestDatabase } from '../helpers/testDatabase.js';

const database = await createTestDatabase();
const pool = createPool({ connectionString: database.url, max: 1, timeoutMs: 10_000, idleInTransactionTimeoutMs: 10_000 });
t.teardown(async () => { await pool.end(); await database.drop(); });

interface Row { event: string; user_hash: string | null; details: Record<string, unknown> }
const rows = async () => (await pool.query<Row>('SELECT event, user_hash, details FROM audit_events ORDER BY id')).rows;

function trail(maxBatch?: number) {
  const errors: unknown[] = [];
  const dropped: number[] = [];
  const audit = new AuditTrail(pool, (error) => errors.push(error), (count) => dropped.push(count), maxBatch);
  return { audit, errors, dropped };
}

t.beforeEach(async () => { await pool.query('TRUNCATE audit_events'); });

t.test('events wait for a flush, then go in one write, in order, as recorded', async (t) => {
  const { audit, errors } = trail();
  audit.record('identity_created', 'hash-a');
  audit.record('token_issued', 'hash-a', { scopes: ['chat'], minutes: 60 });
  audit.record('request_refused', undefined, { code: 'invalid_token' });
  t.same(await rows(), [], 'nothing written before the flush');
  await audit.flush();
  t.same(await rows(), [
    { event: 'identity_created', user_hash: 'hash-a', details: {} },
    { event: 'token_issued', user_hash: 'hash-a', details: { scopes: ['chat'], minutes: 60 } },
    { event: 'request_refused', user_hash: null, details: { code: 'invalid_token' } },
  ]);
  await audit.flush();
  t.equal((await rows()).length, 3, 'a flush with nothing waiting writes nothing');
  t.same(errors, []);
});

t.test('a full batch starts a write of its own; a flush writes more than a batch in batches', async (t) => {
  const { audit } = trail(3);
  audit.record('token_issued', 'a');
  audit.record('token_issued', 'b');
  audit.record('token_issued', 'c');
  // The write the third event started; the flush waits for it.
  await audit.flush();
  t.same((await rows()).map((r) => r.user_hash), ['a', 'b', 'c']);
  for (const user of ['d', 'e']) audit.record('token_issued', user);
  await audit.flush();
  t.same((await rows()).map((r) => r.user_hash), ['a', 'b', 'c', 'd', 'e']);
});

t.test('calls made while a write waits to start share it; events of meanwhile wait for the next', async (t) => {
  const { audit } = trail();
  audit.record('token_issued', 'first');
  const one = audit.flush();
  const two = audit.flush();
  t.equal(one, two, 'one write for both calls');
  await one;
  audit.record('token_issued', 'second');
  const written = audit.flush();
  t.not(written, one);
  await written;
  t.same((await rows()).map((r) => r.user_hash), ['first', 'second']);
});

t.test('floods are tallied: one row per event, user and details, with a count and the first\'s time', async (t) => {
  const { audit } = trail();
  const before = Date.now();
  for (let i = 0; i < 5; i++) audit.tally('request_refused', { code: 'invalid_token' });
  audit.tally('request_refused', { code: 'rate_limited' });
  for (let i = 0; i < 3; i++) audit.tally('token_issued', { reused: true }, 'hash-a');
  audit.tally('token_issued', { reused: true }, 'hash-b');
  await audit.flush();
  const written = await rows();
  t.same(written.map(({ event, user_hash, details: { count, code, reused } }) => ({ event, user_hash, count, code, reused })), [
    { event: 'request_refused', user_hash: null, count: 5, code: 'invalid_token', reused: undefined },
    { event: 'request_refused', user_hash: null, count: 1, code: 'rate_limited', reused: undefined },
    { event: 'token_issued', user_hash: 'hash-a', count: 3, code: undefined, reused: true },
    { event: 'token_issued', user_hash: 'hash-b', count: 1, code: undefined, reused: true },
  ]);
  const since = Date.parse(written[0]!.details.since as string);
  t.ok(since >= before - 1 && since <= Date.now(), 'since: when the first was counted');
  await audit.flush();
  t.equal((await rows()).length, 4, 'tallies start again after a flush');
});

t.test('a failed write keeps its events and says why; the next flush writes them', async (t) => {
  const { audit, errors } = trail();
  await pool.query('ALTER TABLE audit_events RENAME TO audit_events_away');
  t.teardown(() => pool.query('ALTER TABLE IF EXISTS audit_events_away RENAME TO audit_events'));
  audit.record('tokens_revoked', 'hash-a');
  audit.tally('request_refused', { code: 'invalid_token' });
  await audit.flush();
  t.equal(errors.length, 1);
  t.match(errors[0], { code: '42P01' }, 'PostgreSQL\'s own error');
  await pool.query('ALTER TABLE audit_events_away RENAME TO audit_events');
  audit.record('deletion_requested', 'hash-a', { queued: false });
  await audit.flush();
  t.same((await rows()).map((r) => r.event), ['tokens_revoked', 'request_refused', 'deletion_requested'], 'the kept ones first');
  t.equal(errors.length, 1);
});

t.test('beyond MAX_PENDING waiting events, new ones are dropped and counted at the next flush', async (t) => {
  const { audit, dropped } = trail(MAX_PENDING + 10);
  for (let i = 0; i < MAX_PENDING + 3; i++) audit.record('token_issued', `user-${i}`);
  t.same(dropped, [], 'counted, told at the flush');
  await audit.flush();
  t.same(dropped, [3]);
  const { rows: [count] } = await pool.query<{ n: number; last: string }>('SELECT count(*)::int AS n, max(user_hash) FILTER (WHERE id = (SELECT max(id) FROM audit_events)) AS last FROM audit_events');
  t.same(count, { n: MAX_PENDING, last: `user-${MAX_PENDING - 1}` }, 'the first ones kept');
  await audit.flush();
  t.same(dropped, [3], 'told once');
});

t.test('old events are deleted after the retention, the rest kept', async (t) => {
  const { audit } = trail();
  await pool.query(`INSERT INTO audit_events (at, event, user_hash, details) VALUES
    (now() - interval '91 days', 'token_issued', 'old', '{}'),
    (now() - interval '89 days', 'token_issued', 'recent', '{}')`);
  t.equal(await audit.deleteOlderThan(90), 1);
  t.same((await rows()).map((r) => r.user_hash), ['recent']);
  t.equal(await audit.deleteOlderThan(90), 0);
});
