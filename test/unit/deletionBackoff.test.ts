// The one backoff rule of queued ACS deletions, through IdentityDeletions with a real identity
// store on a test database and the real ACS client, which finds nothing listening at its
// endpoint (an outage, as ACS down): the wait doubles with each failure from the retry interval,
// stops at an hour, and is never shorter than the Retry-After of an open circuit.
import net from 'node:net';
import t, { type Test } from 'tap';
import { AcsIdentityClient } from '../../src/acs/acsIdentityClient.js';
import { AuditTrail } from '../../src/audit/auditTrail.js';
import { loadConfig } from '../../src/config/index.js';
import { IdentityStore } from '../../src/db/identityStore.js';
import { createPool } from '../../src/db/pool.js';
import type { Logger } from '../../src/identities/collaborators.js';
import { IdentityDeletions } from '../../src/identities/identityDeletions.js';
import { createTestDatabase } from '../helpers/testDatabase.js';

const INTERVAL = 40;

const database = await createTestDatabase();
const pool = createPool({ connectionString: database.url, max: 1, timeoutMs: 10_000, idleInTransactionTimeoutMs: 10_000 });
t.teardown(async () => { await pool.end(); await database.drop(); });

/** A loopback port where nothing listens: every ACS call fails at once, as in an outage. */
const server = net.createServer().listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const { port } = server.address() as net.AddressInfo;
await new Promise((resolve) => server.close(resolve));

const logged: Array<{ level: string; details: object; message: string }> = [];
t.beforeEach(async () => {
  logged.length = 0;
  await pool.query('TRUNCATE acs_identity_deletions');
});

/** The deletion service with its real collaborators; `env` on top of the test's settings. */
function deletions(env: Record<string, string> = {}) {
  const config = loadConfig({
    DATABASE_URL: database.url,
    ACS_CONNECTION_STRING: `endpoint=http://127.0.0.1:${port}/;accesskey=${Buffer.from('key').toString('base64')}`,
    AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    AZURE_CLIENT_ID: 'api',
    ACS_DELETION_RETRY_INTERVAL_SECONDS: String(INTERVAL),
    ACS_MAX_RETRIES: '0',
    ...env,
  });
  const logAt = (level: string) => (details: object, message: string) => { logged.push({ level, details, message }); };
  const log: Logger = { info: logAt('info'), warn: logAt('warn'), error: logAt('error') };
  return new IdentityDeletions({
    store: new IdentityStore(pool, { resource: config.acs.resource, adoptUnknown: false }),
    acs: new AcsIdentityClient(config.acs),
    // Retries and clean-ups are no user's requests: they spend no budget.
    budget: { spend: () => Promise.reject(new Error('a retry spent a user\'s budget')) },
    audit: new AuditTrail(pool, () => undefined, () => undefined),
    hashUser: (user) => user.userKey,
    log,
  }, config.deletions);
}

/** The queued deletion's attempts and in how many seconds its next attempt is due. */
async function schedule(acsUserId: string): Promise<{ attempts: number; dueIn: number }> {
  const { rows } = await pool.query<{ attempts: number; due_in: number }>(
    'SELECT attempts, extract(epoch FROM next_attempt_at - now())::float AS due_in FROM acs_identity_deletions WHERE acs_user_id = $1', [acsUserId]);
  return { attempts: rows[0]!.attempts, dueIn: rows[0]!.due_in };
}

async function failedRetry(service: IdentityDeletions, acsUserId: string): Promise<{ attempts: number; dueIn: number }> {
  await pool.query('UPDATE acs_identity_deletions SET next_attempt_at = now() WHERE acs_user_id = $1', [acsUserId]);
  await service.retryDue();
  return schedule(acsUserId);
}

/** Seconds as scheduled, give or take the time the calls took. */
const about = (t: Test, actual: number, expected: number, message: string) =>
  t.ok(actual > expected - 5 && actual <= expected, `${message}: ${actual.toFixed(1)} s, expected about ${expected} s`);

t.test('an identity that could not be stored, nor deleted, is queued to wait the interval', async (t) => {
  const service = deletions();
  await service.discard('8:acs:discarded');
  const { attempts, dueIn } = await schedule('8:acs:discarded');
  t.equal(attempts, 1);
  about(t, dueIn, INTERVAL, 'after the first attempt');
});

t.test('each failed retry waits twice as long as the one before; each is logged as passing', async (t) => {
  const service = deletions();
  await service.discard('8:acs:a');
  let { attempts, dueIn } = await failedRetry(service, '8:acs:a');
  t.equal(attempts, 2);
  about(t, dueIn, 2 * INTERVAL, 'after the first retry');
  ({ attempts, dueIn } = await failedRetry(service, '8:acs:a'));
  t.equal(attempts, 3);
  about(t, dueIn, 4 * INTERVAL, 'after the second retry');
  t.match(logged, [
    { level: 'warn', details: { attempts: 2, retryAfter: 2 * INTERVAL }, message: 'queued ACS identity deletion failed again' },
    { level: 'warn', details: { attempts: 3, retryAfter: 4 * INTERVAL } },
  ], 'an outage passes: a warning, not an error');
});

t.test('the wait stops growing at an hour', async (t) => {
  const service = deletions();
  await service.discard('8:acs:b');
  await pool.query('UPDATE acs_identity_deletions SET attempts = 20');
  const { attempts, dueIn } = await failedRetry(service, '8:acs:b');
  t.equal(attempts, 21);
  about(t, dueIn, 3600, 'after many failures');
});

t.test('an open circuit\'s Retry-After is honoured when longer, and does not shorten the backoff', async (t) => {
  // One failure opens the circuit; the next call is refused with its cooldown as Retry-After.
  const longCooldown = deletions({ ACS_CIRCUIT_BREAKER_THRESHOLD: '1', ACS_CIRCUIT_BREAKER_COOLDOWN_SECONDS: '600' });
  await longCooldown.discard('8:acs:c');
  about(t, (await failedRetry(longCooldown, '8:acs:c')).dueIn, 600, 'the circuit\'s 600 s over the backoff\'s 80 s');

  const shortCooldown = deletions({ ACS_CIRCUIT_BREAKER_THRESHOLD: '1', ACS_CIRCUIT_BREAKER_COOLDOWN_SECONDS: '5' });
  await shortCooldown.discard('8:acs:d');
  about(t, (await failedRetry(shortCooldown, '8:acs:d')).dueIn, 2 * INTERVAL, 'the backoff\'s 80 s over the circuit\'s 5 s');
});

t.test('a pass tries each due deletion once, and none that is not due', async (t) => {
  const service = deletions();
  for (const id of ['8:acs:e', '8:acs:f']) await service.discard(id);
  await service.discard('8:acs:later');
  await pool.query("UPDATE acs_identity_deletions SET next_attempt_at = now() WHERE acs_user_id <> '8:acs:later'");
  await service.retryDue();
  const { rows } = await pool.query<{ acs_user_id: string; attempts: number }>('SELECT acs_user_id, attempts FROM acs_identity_deletions ORDER BY acs_user_id');
  t.same(rows, [{ acs_user_id: '8:acs:e', attempts: 2 }, { acs_user_id: '8:acs:f', attempts: 2 }, { acs_user_id: '8:acs:later', attempts: 1 }]);
});
