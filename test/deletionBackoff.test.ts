// One backoff rule for every failed ACS deletion: the user's own attempt (DELETE /api/user
// answered 202) and each failed retry wait the retry interval, doubling with each failure up to
// an hour, and never less than ACS's Retry-After.
import t, { type Test } from 'tap';
import { startTestService } from './helpers/testService.js';

const INTERVAL = 40;
const svc = await startTestService(t, { ACS_DELETION_RETRY_INTERVAL_SECONDS: String(INTERVAL) });
t.afterEach(() => svc.acs.clearFaults());

/** A user whose DELETE /api/user was queued while ACS throttled deletions; its identity. */
async function queuedDeletion(retryAfterSeconds?: number): Promise<string> {
  const token = svc.userToken();
  const created = await svc.request({ method: 'POST', url: '/api/user', token });
  // Throttling, not an outage: the circuit stays closed and adds no Retry-After of its own.
  svc.acs.injectFault({ status: 429, times: Infinity, operations: ['deleteIdentity'], ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) });
  const response = await svc.request({ method: 'DELETE', url: '/api/user', token });
  t.equal(response.statusCode, 202);
  return created.json.acsUserIdentity;
}

/** The queued deletion's attempts so far and in how many seconds the next one is due. */
async function schedule(acsUserId: string): Promise<{ attempts: number; dueIn: number }> {
  const { rows } = await svc.db.query<{ attempts: number; due_in: number }>(
    'SELECT attempts, extract(epoch FROM next_attempt_at - now())::float AS due_in FROM acs_identity_deletions WHERE acs_user_id = $1', [acsUserId]);
  return { attempts: rows[0]!.attempts, dueIn: rows[0]!.due_in };
}

async function failedRetry(acsUserId: string): Promise<{ attempts: number; dueIn: number }> {
  await svc.db.query('UPDATE acs_identity_deletions SET next_attempt_at = now() WHERE acs_user_id = $1', [acsUserId]);
  await svc.app.identityDeletions.retryDue();
  return schedule(acsUserId);
}

/** Seconds as scheduled, give or take the time the requests took. */
const about = (t: Test, actual: number, expected: number, message: string) =>
  t.ok(actual > expected - 5 && actual <= expected, `${message}: ${actual.toFixed(1)} s, expected about ${expected} s`);

t.test('the first failure waits the interval; each failed retry twice as long as the one before', async (t) => {
  const acsUserId = await queuedDeletion();
  let { attempts, dueIn } = await schedule(acsUserId);
  t.equal(attempts, 1);
  about(t, dueIn, INTERVAL, 'after the user\'s attempt');
  ({ attempts, dueIn } = await failedRetry(acsUserId));
  t.equal(attempts, 2);
  about(t, dueIn, 2 * INTERVAL, 'after the first retry');
  ({ attempts, dueIn } = await failedRetry(acsUserId));
  t.equal(attempts, 3);
  about(t, dueIn, 4 * INTERVAL, 'after the second retry');
});

t.test('the wait stops growing at an hour', async (t) => {
  const acsUserId = await queuedDeletion();
  await svc.db.query('UPDATE acs_identity_deletions SET attempts = 20 WHERE acs_user_id = $1', [acsUserId]);
  const { attempts, dueIn } = await failedRetry(acsUserId);
  t.equal(attempts, 21);
  about(t, dueIn, 3600, 'after many failures');
});

t.test('a longer Retry-After from ACS is honoured, by the user\'s attempt and by a retry', async (t) => {
  const acsUserId = await queuedDeletion(300);
  about(t, (await schedule(acsUserId)).dueIn, 300, 'after the user\'s attempt');
  about(t, (await failedRetry(acsUserId)).dueIn, 300, 'after a retry');
});

t.test('a shorter Retry-After does not shorten the backoff', async (t) => {
  const acsUserId = await queuedDeletion(5);
  about(t, (await schedule(acsUserId)).dueIn, INTERVAL, 'after the user\'s attempt');
  about(t, (await failedRetry(acsUserId)).dueIn, 2 * INTERVAL, 'after a retry');
});
