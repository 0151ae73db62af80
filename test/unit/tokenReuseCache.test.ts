// The cache of ACS tokens served again, on a clock of the test's own: which lifetime is asked of
// ACS, when a remembered token may be served (young, far from expiry, issued after the last
// revocation, not outliving the lifetime asked), its bound, and concurrent misses sharing a call.
import t from 'tap';
import type { AcsScope } from '../../src/acs/acsScopes.js';
import { TokenReuseCache } from '../../src/identities/tokenReuseCache.js';

const MINUTE = 60_000;
const REUSE_MS = 5 * MINUTE;
const CHAT: AcsScope[] = ['chat'];
const start = Date.parse('2026-12-01T12:00:00Z');

function cache(reuseMs = REUSE_MS) {
  const clock = { now: start };
  return { clock, cache: new TokenReuseCache(reuseMs, () => clock.now) };
}

/** A token ACS issued at the clock's time for `minutes`, its mapping read a second before. */
const issued = (now: number, minutes: number, token = 'token') => ({ token, expiresOn: new Date(now + minutes * MINUTE) });
const readBefore = (now: number) => new Date(now - 1000);

t.test('the lifetime asked of ACS: whole hours, rounded down, one at least; exact when reuse is off', async (t) => {
  const { cache: c } = cache();
  for (const [asked, issuedFor] of [[60, 60], [61, 60], [119, 60], [120, 120], [1439, 1380], [1440, 1440]]) {
    t.equal(c.lifetimeToIssue(asked!), issuedFor, `${asked} minutes asked`);
  }
  t.equal(cache(0).cache.lifetimeToIssue(61), 61);
});

t.test('reuse off: nothing is remembered, every issuance calls ACS', async (t) => {
  const { clock, cache: c } = cache(0);
  c.set('8:acs:a', CHAT, 60, issued(clock.now, 60), readBefore(clock.now));
  t.equal(c.get('8:acs:a', CHAT, 60, null), undefined);
  let calls = 0;
  const issue = async () => { calls++; return issued(clock.now, 60); };
  const results = await Promise.all([1, 2].map(() => c.issueOnce('8:acs:a', CHAT, 60, { readAt: readBefore(clock.now), tokensRevokedAt: null }, issue)));
  t.equal(calls, 2);
  t.same(results.map((r) => r.shared), [false, false]);
});

t.test('served again while young: until REUSE_MS after it arrived, not at that moment', async (t) => {
  const { clock, cache: c } = cache();
  c.set('8:acs:a', CHAT, 60, issued(clock.now, 60), readBefore(clock.now));
  clock.now += REUSE_MS - 1;
  t.equal(c.get('8:acs:a', CHAT, 60, null)?.token, 'token', '1 ms before it is too old');
  clock.now += 1;
  t.equal(c.get('8:acs:a', CHAT, 60, null), undefined, 'exactly REUSE_MS old');
  clock.now -= 1;
  t.equal(c.get('8:acs:a', CHAT, 60, null), undefined, 'an entry found too old was dropped');
});

t.test('served again only while it has more than ten minutes to live', async (t) => {
  const { clock, cache: c } = cache(60 * MINUTE);
  // A token ACS says expires sooner than its lifetime (its clock differs from ours).
  c.set('8:acs:a', CHAT, 60, { token: 'short', expiresOn: new Date(clock.now + 12 * MINUTE) }, readBefore(clock.now));
  clock.now += 2 * MINUTE - 1;
  t.equal(c.get('8:acs:a', CHAT, 60, null)?.token, 'short', 'ten minutes and 1 ms left');
  clock.now += 1;
  t.equal(c.get('8:acs:a', CHAT, 60, null), undefined, 'exactly ten minutes left');
});

t.test('never served when its mapping was read at or before the identity\'s last revocation', async (t) => {
  const { clock, cache: c } = cache();
  const readAt = readBefore(clock.now);
  const remember = () => c.set('8:acs:a', CHAT, 60, issued(clock.now, 60), readAt);
  remember();
  t.ok(c.get('8:acs:a', CHAT, 60, new Date(readAt.getTime() - 1)), 'revoked before the read');
  t.equal(c.get('8:acs:a', CHAT, 60, readAt), undefined, 'revoked at the read\'s instant');
  remember();
  t.equal(c.get('8:acs:a', CHAT, 60, new Date(readAt.getTime() + 1)), undefined, 'revoked after the read');
  t.equal(c.get('8:acs:a', CHAT, 60, null), undefined, 'and then forgotten');
});

t.test('a token is served for any lifetime it does not outlive, never a longer one', async (t) => {
  const { clock, cache: c } = cache();
  c.set('8:acs:a', CHAT, 120, issued(clock.now, 120), readBefore(clock.now));
  t.equal(c.get('8:acs:a', CHAT, 119, null), undefined, 'it would outlive 119 minutes');
  t.ok(c.get('8:acs:a', CHAT, 120, null), 'exactly its lifetime');
  t.ok(c.get('8:acs:a', CHAT, 1440, null), 'a longer lifetime gets it (shorter than asked)');
  clock.now += MINUTE;
  t.ok(c.get('8:acs:a', CHAT, 119, null), 'a minute later it expires within 119 minutes from now');
  t.ok(c.get('8:acs:a', CHAT, 120, null), 'a token too long-lived for one request is kept for others');
});

t.test('one entry per identity and set of scopes, in any order', async (t) => {
  const { clock, cache: c } = cache();
  c.set('8:acs:a', ['voip', 'chat'], 60, issued(clock.now, 60, 'both'), readBefore(clock.now));
  t.equal(c.get('8:acs:a', ['chat', 'voip'], 60, null)?.token, 'both');
  t.equal(c.get('8:acs:a', CHAT, 60, null), undefined, 'other scopes');
  t.equal(c.get('8:acs:b', ['chat', 'voip'], 60, null), undefined, 'another identity');
  c.set('8:acs:a', ['chat', 'voip'], 60, issued(clock.now, 60, 'newer'), readBefore(clock.now));
  t.equal(c.get('8:acs:a', ['voip', 'chat'], 60, null)?.token, 'newer', 'a newer token takes the place');
});

t.test('the configured default scopes (that very array) and the same scopes in any other array share one entry', async (t) => {
  const defaults: AcsScope[] = ['voip', 'chat'];
  const clock = { now: start };
  const c = new TokenReuseCache(REUSE_MS, () => clock.now, defaults);
  c.set('8:acs:a', defaults, 60, issued(clock.now, 60, 'by default'), readBefore(clock.now));
  t.equal(c.get('8:acs:a', ['chat', 'voip'], 60, null)?.token, 'by default', 'asked for by name, in another order');
  c.set('8:acs:a', ['chat', 'voip'], 60, issued(clock.now, 60, 'by name'), readBefore(clock.now));
  t.equal(c.get('8:acs:a', defaults, 60, null)?.token, 'by name', 'asked for by default');
  t.equal(c.get('8:acs:a', CHAT, 60, null), undefined, 'other scopes');
});

t.test('a token served again comes with its expiry in ISO 8601, as answered', async (t) => {
  const { clock, cache: c } = cache();
  const token = issued(clock.now, 60);
  c.set('8:acs:a', CHAT, 60, token, readBefore(clock.now));
  t.equal(c.get('8:acs:a', CHAT, 60, null)?.expiresOnIso, token.expiresOn.toISOString());
});

t.test('at its bound, the entry set longest ago goes first', async (t) => {
  const { clock, cache: c } = cache();
  const BOUND = 20_000;
  const remember = (id: string) => c.set(id, CHAT, 60, issued(clock.now, 60, id), readBefore(clock.now));
  for (let i = 0; i < BOUND; i++) remember(`8:acs:${i}`);
  t.ok(c.get('8:acs:0', CHAT, 60, null), 'all kept up to the bound');
  remember('8:acs:0');
  remember('8:acs:new');
  t.ok(c.get('8:acs:0', CHAT, 60, null), 'set again, it became the newest');
  t.equal(c.get('8:acs:1', CHAT, 60, null), undefined, 'the oldest one went');
  t.ok(c.get('8:acs:2', CHAT, 60, null));
  t.ok(c.get('8:acs:new', CHAT, 60, null));
});

t.test('bounded in bytes too: MAX_BYTES of tokens at most, and no token over MAX_TOKEN_BYTES', async (t) => {
  const { clock, cache: c } = cache();
  const MAX_BYTES = 24 * 1024 * 1024;
  const MAX_TOKEN_BYTES = 16 * 1024;
  const large = 'x'.repeat(MAX_TOKEN_BYTES - 1024);
  const count = Math.ceil(MAX_BYTES / large.length) + 10;
  for (let i = 0; i < count; i++) c.set(`8:acs:${i}`, CHAT, 60, { token: large, expiresOn: new Date(clock.now + 60 * 60_000) }, readBefore(clock.now));
  t.equal(c.get('8:acs:0', CHAT, 60, null), undefined, 'the first ones went, far below the bound on entries');
  t.equal(c.get(`8:acs:${count - 1}`, CHAT, 60, null)?.token, large, 'the last one is kept');
  c.set(`8:acs:${count - 1}`, CHAT, 60, { token: 'x'.repeat(MAX_TOKEN_BYTES + 1), expiresOn: new Date(clock.now + 60 * 60_000) }, readBefore(clock.now));
  t.equal(c.get(`8:acs:${count - 1}`, CHAT, 60, null), undefined, 'a token too large to keep is not kept, and the older one is gone');
});

t.test('concurrent misses for the same identity, scopes and lifetime share one ACS call', async (t) => {
  const { clock, cache: c } = cache();
  const identity = { readAt: readBefore(clock.now), tokensRevokedAt: null };
  let calls = 0;
  let answer!: (value: { token: string; expiresOn: Date }) => void;
  const issue = () => { calls++; return new Promise<{ token: string; expiresOn: Date }>((resolve) => { answer = resolve; }); };
  const first = c.issueOnce('8:acs:a', CHAT, 60, identity, issue);
  const second = c.issueOnce('8:acs:a', ['chat'], 60, identity, issue);
  answer(issued(clock.now, 60, 'one'));
  t.same((await Promise.all([first, second])).map((r) => [r.issued.token, r.shared]), [['one', false], ['one', true]]);
  t.equal(calls, 1);
  t.equal(c.get('8:acs:a', CHAT, 60, null)?.token, 'one', 'remembered');

  const other = await c.issueOnce('8:acs:a', CHAT, 120, identity, async () => { calls++; return issued(clock.now, 120, 'two'); });
  t.equal(other.shared, false, 'after it finished, a call is a call of its own');
  t.equal(calls, 2);
});

t.test('a call under way is not shared with a request made after a later revocation', async (t) => {
  const { clock, cache: c } = cache();
  const before = { readAt: readBefore(clock.now), tokensRevokedAt: null };
  let answer!: (value: { token: string; expiresOn: Date }) => void;
  const pending = c.issueOnce('8:acs:a', CHAT, 60, before, () => new Promise((resolve) => { answer = resolve; }));
  const revoked = { readAt: new Date(clock.now + 2000), tokensRevokedAt: new Date(clock.now + 1000) };
  const after = await c.issueOnce('8:acs:a', CHAT, 60, revoked, async () => issued(clock.now, 60, 'after revocation'));
  t.same([after.issued.token, after.shared], ['after revocation', false]);
  answer(issued(clock.now, 60, 'before revocation'));
  t.equal((await pending).issued.token, 'before revocation');
});

t.test('a failed call fails every request that shared it; the next one calls again', async (t) => {
  const { clock, cache: c } = cache();
  const identity = { readAt: readBefore(clock.now), tokensRevokedAt: null };
  let fail!: (error: Error) => void;
  const issue = () => new Promise<never>((_, reject) => { fail = reject; });
  const both = [c.issueOnce('8:acs:a', CHAT, 60, identity, issue), c.issueOnce('8:acs:a', CHAT, 60, identity, issue)];
  fail(new Error('ACS is down'));
  for (const result of await Promise.allSettled(both)) t.match(result, { status: 'rejected', reason: { message: 'ACS is down' } });
  t.equal(c.get('8:acs:a', CHAT, 60, null), undefined, 'nothing remembered');
  const again = await c.issueOnce('8:acs:a', CHAT, 60, identity, async () => issued(clock.now, 60, 'later'));
  t.same([again.issued.token, again.shared], ['later', false]);
});
