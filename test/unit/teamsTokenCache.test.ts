// The Teams tokens kept per user, on a clock of the test's own: served again while young and far
// from expiry, per user and scopes (never per caller token), at most `maxEntries`, the least
// recently used going first.
import t from 'tap';
import { entraCaller, oidcCaller } from '../../src/auth/caller.js';
import { TeamsTokenCache } from '../../src/teams/teamsTokenCache.js';

const MINUTE = 60_000;
const REUSE_MS = 5 * MINUTE;
const MIN_REMAINING_MS = 30 * MINUTE;
const SCOPES = ['https://auth.msft.communication.azure.com/Teams.ManageCalls'];
const TENANT = '0b9d5f36-8a2c-4d7e-9f31-2c6e4a8b1d70';
const alice = entraCaller(TENANT, '6f0e4c1a-3b2d-4e5f-8a9b-0c1d2e3f4a5b');
const bob = entraCaller(TENANT, '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');

function cache(maxEntries = 10) {
  const clock = { now: Date.parse('2026-12-01T12:00:00Z') };
  return { clock, cache: new TeamsTokenCache(maxEntries, () => clock.now) };
}

t.test('served again to the same user and scopes, whatever the caller object', async (t) => {
  const { clock, cache: c } = cache();
  c.set(alice, SCOPES, 'teams-a', clock.now + 60 * MINUTE);
  t.equal(c.get(entraCaller(TENANT, alice.objectId), SCOPES), 'teams-a', 'the user, from another verified token');
  t.equal(c.get(bob, SCOPES), undefined, 'another user');
  t.equal(c.get(alice, ['other']), undefined, 'other scopes');
  c.set(alice, ['b', 'a'], 'two-scopes', clock.now + 60 * MINUTE);
  t.equal(c.get(alice, ['a', 'b']), 'two-scopes', 'scopes in any order');
  t.equal(c.get(oidcCaller('https://idp.example.com/', alice.objectId), SCOPES), undefined, 'a user of another issuer with the same subject');
});

t.test('served again until REUSE_MS after it was obtained, not at that moment; then forgotten', async (t) => {
  const { clock, cache: c } = cache();
  c.set(alice, SCOPES, 'teams-a', clock.now + 60 * MINUTE);
  clock.now += REUSE_MS - 1;
  t.equal(c.get(alice, SCOPES), 'teams-a');
  clock.now += 1;
  t.equal(c.get(alice, SCOPES), undefined);
  t.equal(c.size, 0, 'dropped when found too old');
});

t.test('served again only while it has at least MIN_REMAINING_MS to live', async (t) => {
  const { clock, cache: c } = cache();
  c.set(alice, SCOPES, 'teams-a', clock.now + MIN_REMAINING_MS + 2 * MINUTE);
  clock.now += 2 * MINUTE;
  t.equal(c.get(alice, SCOPES), 'teams-a', 'exactly MIN_REMAINING_MS left');
  clock.now += 1;
  t.equal(c.get(alice, SCOPES), undefined, '1 ms less');
});

t.test('a token that could never be served again is not kept', async (t) => {
  const { clock, cache: c } = cache();
  c.set(alice, SCOPES, 'short', clock.now + MIN_REMAINING_MS - 1);
  t.equal(c.size, 0, 'less than MIN_REMAINING_MS to live');
  c.set(alice, SCOPES, 'enough', clock.now + MIN_REMAINING_MS);
  t.equal(c.size, 1, 'exactly MIN_REMAINING_MS');
  const off = cache(0).cache;
  off.set(alice, SCOPES, 'teams-a', clock.now + 60 * MINUTE);
  t.equal(off.size, 0, 'a cache of size 0 keeps nothing');
  t.equal(off.get(alice, SCOPES), undefined);
});

t.test('at its bound, the least recently used goes first', async (t) => {
  const { clock, cache: c } = cache(3);
  const users = [0, 1, 2, 3].map((i) => entraCaller(TENANT, `00000000-0000-4000-8000-00000000000${i}`));
  for (const [i, user] of users.slice(0, 3).entries()) c.set(user, SCOPES, `token-${i}`, clock.now + 60 * MINUTE);
  t.equal(c.get(users[0]!, SCOPES), 'token-0', 'read: now the most recently used');
  c.set(users[3]!, SCOPES, 'token-3', clock.now + 60 * MINUTE);
  t.equal(c.size, 3);
  t.equal(c.get(users[1]!, SCOPES), undefined, 'the least recently used went');
  t.same([0, 2, 3].map((i) => c.get(users[i]!, SCOPES)), ['token-0', 'token-2', 'token-3']);
  c.set(users[2]!, SCOPES, 'token-2b', clock.now + 60 * MINUTE);
  t.equal(c.size, 3, 'a user\'s new token replaces the old one, evicting nothing');
  t.equal(c.get(users[2]!, SCOPES), 'token-2b');
});

t.test('bounded in bytes too: at most maxEntries × ENTRY_BYTES of tokens, and no token over MAX_TOKEN_BYTES', async (t) => {
  const ENTRY_BYTES = 4 * 1024;
  const MAX_TOKEN_BYTES = 16 * 1024;
  const { clock, cache: c } = cache(10);
  const users = Array.from({ length: 10 }, (_, i) => entraCaller(TENANT, `00000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`));
  const large = 'x'.repeat(ENTRY_BYTES * 2);
  for (const user of users) c.set(user, SCOPES, large, clock.now + 60 * MINUTE);
  t.ok(c.size < 5, `tokens twice the usual size: fewer than half as many kept (${c.size})`);
  t.equal(c.get(users[9]!, SCOPES), large, 'the most recent is kept');
  t.equal(c.get(users[0]!, SCOPES), undefined, 'the least recently used went');
  c.set(users[9]!, SCOPES, 'x'.repeat(MAX_TOKEN_BYTES + 1), clock.now + 60 * MINUTE);
  t.equal(c.get(users[9]!, SCOPES), undefined, 'a token too large to keep is not kept, and the user\'s older one is gone');
});

t.test('a small bound keeps its count of bytes after a token larger than the whole bound', async (t) => {
  // 4 entries: 16 KiB in all, less than the largest token an entry may hold.
  const { clock, cache: c } = cache(4);
  c.set(bob, SCOPES, 'x'.repeat(8000), clock.now + 60 * MINUTE);
  c.set(alice, SCOPES, 'x'.repeat(16_300), clock.now + 60 * MINUTE);
  c.set(entraCaller(TENANT, '8b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e'), SCOPES, 'y'.repeat(16_300), clock.now + 60 * MINUTE);
  const users = Array.from({ length: 4 }, (_, i) => entraCaller(TENANT, `00000000-0000-4000-8000-0000000001${String(i).padStart(2, '0')}`));
  for (const user of users) c.set(user, SCOPES, 'x'.repeat(8 * 1024), clock.now + 60 * MINUTE);
  t.ok(c.size <= 1, `tokens of 8 KiB in a 16 KiB bound: at most one kept (${c.size})`);
  t.equal(c.get(users[3]!, SCOPES), 'x'.repeat(8 * 1024), 'the most recent is kept');
});
