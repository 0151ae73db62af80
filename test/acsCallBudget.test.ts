// ACS's quota is one resource's, shared by every user: no user may spend much of it. Asking for
// ever other lifetimes costs ACS nothing, and each user has a budget of ACS calls (creating,
// issuing, revoking, deleting), shared by the replicas through Redis, per process without it.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startOtherReplica, startTestService } from './helpers/testService.js';

// A service per subtest (and two more in the last): a time budget of its own (README, Tests).
t.setTimeout(240_000);

t.test('lifetime games cost ACS one token, and no token outlives what was asked', async (t) => {
  const svc = await startTestService(t, { ACS_TOKEN_REUSE_SECONDS: '300' });
  const token = svc.userToken();
  t.equal((await svc.request({ method: 'POST', url: '/api/user', token })).statusCode, 201);
  const before = svc.acs.counters.requests;
  const served = new Set<string>();
  for (let minutes = 61; minutes <= 75; minutes++) {
    const answer = await svc.request({ url: `/api/token?expiresInMinutes=${minutes}`, token });
    t.equal(answer.statusCode, 200);
    t.ok(Date.parse(answer.json.expiresOn) <= Date.now() + minutes * 60_000, `${minutes} minutes asked: it expires no later`);
    served.add(answer.json.token);
  }
  t.equal(svc.acs.counters.requests - before, 1, 'one ACS call for 15 lifetimes');
  t.equal(served.size, 1, 'the same token each time');

  // Rising lifetimes cost nothing; falling ones cost one ACS call per hour of lifetime at most:
  // a new token's lifetime is rounded down to whole hours, so 60 (the least) serves 61 to 75.
  t.equal((await svc.request({ url: '/api/token?expiresInMinutes=60', token })).json.token, [...served][0], '60 minutes: the same token');
  // Another user's falling lifetimes, from the longest down: a token of whole hours per hour.
  const falling = svc.userToken();
  t.equal((await svc.request({ method: 'POST', url: '/api/user', token: falling })).statusCode, 201);
  const fallingBefore = svc.acs.counters.requests;
  for (let minutes = 1440; minutes > 1440 - 100; minutes -= 1) {
    const answer = await svc.request({ url: `/api/token?expiresInMinutes=${minutes}`, token: falling });
    t.equal(answer.statusCode, 200);
    if (Date.parse(answer.json.expiresOn) > Date.now() + minutes * 60_000) t.fail(`${minutes} minutes asked: it expires later`);
  }
  const fallingCalls = svc.acs.counters.requests - fallingBefore;
  t.ok(fallingCalls <= 3, `100 falling lifetimes from 1440 minutes: ${fallingCalls} ACS calls (1440, 1380, 1320)`);
  const shorter = await svc.request({ url: '/api/token?expiresInMinutes=60', token });
  t.ok(Date.parse(shorter.json.expiresOn) <= Date.now() + 60 * 60_000, 'expires no later than asked');
  const callsSoFar = svc.acs.counters.requests;
  const chat = await svc.request({ url: '/api/token?scopes=chat&expiresInMinutes=90', token });
  t.not(chat.json.token, shorter.json.token, 'other scopes: another token');
  t.equal(svc.acs.counters.requests, callsSoFar + 1);
  // Every ACS call since `before` issued a token, but the second user's creation.
  const issueCalls = svc.acs.counters.requests - before - 1;
  t.match((await svc.app.inject({ url: '/metrics' })).body, new RegExp(`acs_calls_total\\{operation="issueToken",outcome="ok"\\} ${issueCalls}\\n`), 'acs_calls_total agrees');
});

t.test('a user beyond the ACS-call budget gets 429 acs_call_budget_exceeded; another user is unaffected', async (t) => {
  // Token reuse is off here (the helper's default): every token request is an ACS call.
  const svc = await startTestService(t, { ACS_CALLS_PER_USER_PER_MINUTE: '3' });
  const aliceId = randomUUID();
  const alice = svc.userToken({ objectId: aliceId });
  t.equal((await svc.request({ method: 'POST', url: '/api/user', token: alice })).statusCode, 201, 'creating: 1');
  t.equal((await svc.request({ method: 'POST', url: '/api/token/revoke', token: alice })).statusCode, 204, 'revoking: 2');
  t.equal((await svc.request({ url: '/api/token', token: alice })).statusCode, 200, 'issuing: 3');

  const acsRequests = svc.acs.counters.requests;
  const stored = await svc.snapshot();
  for (const [method, url] of [['GET', '/api/token'], ['POST', '/api/token/revoke'], ['DELETE', '/api/user']] as const) {
    const refused = await svc.request({ method, url, token: alice });
    t.equal(refused.statusCode, 429, `${method} ${url}: 429`);
    t.equal(refused.json.code, 'acs_call_budget_exceeded');
    const retryAfter = Number(refused.headers['retry-after']);
    t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter} s, within the minute`);
  }
  t.equal(svc.acs.counters.requests, acsRequests, 'no ACS call beyond the budget');
  const teams = await svc.request({ url: '/api/token/teams', token: alice, headers: { 'teams-user-aad-token': svc.entra.mintTeamsToken({ objectId: aliceId }) } });
  t.equal(teams.statusCode, 429, 'a Teams exchange, an ACS call too: 429');
  t.equal(teams.json.code, 'acs_call_budget_exceeded');
  t.equal(svc.acs.counters.requests, acsRequests, 'no ACS call beyond the budget');
  t.same(await svc.snapshot(), stored, 'and nothing changed');
  t.equal((await svc.request({ url: '/api/user', token: alice })).statusCode, 200, 'what calls no ACS is still served');

  const bob = svc.userToken();
  t.equal((await svc.request({ url: '/api/token', token: bob })).statusCode, 200, 'bob: his first token');
  t.equal((await svc.request({ method: 'POST', url: '/api/token/revoke', token: bob })).statusCode, 204);
  t.equal((await svc.request({ url: '/api/token', token: bob })).statusCode, 200);

  const metrics = (await svc.app.inject({ url: '/metrics' })).body;
  for (const operation of ['issueToken', 'revokeTokens', 'deleteIdentity', 'exchangeTeamsToken']) {
    t.match(metrics, new RegExp(`acs_call_budget_refusals_total\\{operation="${operation}"\\} 1\\n`), `refusals counted: ${operation}`);
  }
});

t.test('a burst of one user\'s requests shares one ACS call, so it stays within the budget', async (t) => {
  const svc = await startTestService(t, { ACS_TOKEN_REUSE_SECONDS: '300', ACS_CALLS_PER_USER_PER_MINUTE: '3' });
  const token = svc.userToken();
  t.equal((await svc.request({ method: 'POST', url: '/api/user', token })).statusCode, 201);
  const before = svc.acs.counters.tokensIssued;
  const answers = await Promise.all(Array.from({ length: 20 }, () => svc.request({ url: '/api/token', token })));
  t.same(answers.map((answer) => answer.statusCode), answers.map(() => 200), 'twenty concurrent requests, all served');
  t.equal(new Set(answers.map((answer) => answer.json.token)).size, 1, 'one token');
  t.equal(svc.acs.counters.tokensIssued - before, 1, 'one ACS call');
});

t.test('with Redis, two replicas share a user\'s budget; Redis unreachable, each process counts alone', async (t) => {
  const env = { REDIS_URL: 'redis://127.0.0.1:6379', RATE_LIMIT_REDIS_PREFIX: `test-${randomUUID()}:`, ACS_CALLS_PER_USER_PER_MINUTE: '4' };
  const svc = await startTestService(t, env);
  const other = await startOtherReplica(t, svc, env);
  const token = svc.userToken();
  const call = async (app: typeof other, method: 'GET' | 'POST', url: string) =>
    (await app.inject({ method, url, headers: { authorization: `Bearer ${token}` } })).statusCode;
  const statuses = [
    await call(svc.app, 'POST', '/api/user'),
    await call(other, 'POST', '/api/token/revoke'),
    await call(svc.app, 'POST', '/api/token/revoke'),
    await call(other, 'POST', '/api/token/revoke'),
    await call(svc.app, 'POST', '/api/token/revoke'),
    await call(other, 'POST', '/api/token/revoke'),
  ];
  t.same(statuses, [201, 204, 204, 204, 429, 429], 'four ACS calls in all, whichever replica made them');

  const down = await startTestService(t, { REDIS_URL: 'redis://127.0.0.1:1', ACS_CALLS_PER_USER_PER_MINUTE: '2' });
  const alone = down.userToken();
  const answers = [
    (await down.request({ method: 'POST', url: '/api/user', token: alone })).statusCode,
    (await down.request({ method: 'POST', url: '/api/token/revoke', token: alone })).statusCode,
  ];
  const refused = await down.request({ method: 'POST', url: '/api/token/revoke', token: alone });
  t.same([...answers, refused.statusCode], [201, 204, 429], 'the budget holds, counted by this process');
  t.equal(refused.json.code, 'acs_call_budget_exceeded');
  t.match((await down.app.inject({ url: '/metrics' })).body, /rate_limit_store_up 0/, 'while Redis is down');
});
