// The generated TypeScript client (clients/typescript) against the running service on a real
// port: every operation, typed problem errors, and AzureCommunicationTokenCredential refreshing
// through the client's tokenRefresher; its Retry-After and abort handling against a real HTTP
// server that answers 429 and 503.
import { AzureCommunicationTokenCredential } from '@azure/communication-common';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { createTokenServiceClient, TokenServiceProblem } from '../clients/typescript/src/index.js';
import { parseRetryAfter } from '../clients/typescript/src/problem.js';
import { signJwt } from '../emulators/jwtSigner.js';
import { startTestService } from './helpers/testService.js';

const svc = await startTestService(t, { ACS_ALLOWED_SCOPES: 'chat,voip' });
await svc.app.listen({ port: 0, host: '127.0.0.1' });
const baseUrl = `http://127.0.0.1:${(svc.app.server.address() as AddressInfo).port}`;
const objectId = '3f2c6a1d-9b8e-4f7a-8c6d-5e4b3a2c1d0f';
const client = createTokenServiceClient({ baseUrl, getAccessToken: async () => svc.userToken({ objectId }) });

t.test('every operation through the client', async (t) => {
  t.equal(await client.getUser(), undefined, 'no identity yet');
  const created = await client.createUser();
  t.equal(created.created, true);
  t.equal((await client.createUser()).created, false, 'idempotent');
  t.equal((await client.getUser())?.acsUserIdentity, created.acsUserIdentity);

  const token = await client.getToken({ scopes: ['chat'], expiresInMinutes: 60 });
  t.equal(token.user.communicationUserId, created.acsUserIdentity);
  t.equal(svc.acs.decodeToken(token.token)?.acsScope, 'chat');

  const teams = await client.exchangeTeamsToken(svc.entra.mintTeamsToken({ objectId }));
  t.match(teams, { token: String, expiresOn: String });

  await client.revokeTokens();
  t.notOk(svc.acs.isTokenValid(token.token), 'revoked');
  t.same(await client.deleteUser(), { queued: false });
  t.equal(await client.getUser(), undefined, 'deleted');
});

t.test('problems are typed errors with their code', async (t) => {
  const error = await client.getToken({ scopes: ['voip.join'] }).catch((e: unknown) => e);
  t.ok(error instanceof TokenServiceProblem);
  t.match(error, { status: 400, code: 'scope_not_allowed', problem: { detail: /voip\.join/ } });
  const anonymous = createTokenServiceClient({ baseUrl, getAccessToken: async () => 'not.a.token' });
  t.match(await anonymous.getUser().catch((e: unknown) => e), { status: 401, code: 'invalid_token' });
  const noHeader = await client.exchangeTeamsToken().catch((e: unknown) => e);
  t.match(noHeader, { status: 400, code: 'teams_not_configured' });
});

t.test('AzureCommunicationTokenCredential refreshes through the tokenRefresher', async (t) => {
  // A token two seconds from expiry: the credential refreshes it proactively, halfway there.
  const now = Math.floor(Date.now() / 1000);
  const expiring = signJwt({ alg: 'HS256', typ: 'JWT' }, { skypeid: 'acs:x', exp: now + 2 }, 'k');
  let refreshes = 0;
  const refresher = client.tokenRefresher({ scopes: ['chat', 'voip'] });
  const credential = new AzureCommunicationTokenCredential({
    tokenRefresher: async (signal) => { refreshes++; return refresher(signal); },
    token: expiring,
    refreshProactively: true,
  });
  t.equal((await credential.getToken()).token, expiring, 'still valid: served as it is');
  await new Promise((resolve) => setTimeout(resolve, 1800));
  const { token, expiresOnTimestamp } = await credential.getToken();
  t.equal(refreshes, 1, 'a refresh call was made');
  t.not(token, expiring);
  t.ok(svc.acs.isTokenValid(token), 'the fresh token is one ACS issued');
  t.ok(expiresOnTimestamp > Date.now() + 50 * 60_000, 'and lives about an hour');
  await credential.getToken();
  t.equal(refreshes, 1, 'a fresh token is reused, not refreshed again');
  credential.dispose();
});

// A real HTTP server standing in for an overloaded service: each test decides its answers.
let answer: (request: IncomingMessage, response: ServerResponse, count: number) => void = () => {};
let requests = 0;
const busy = createServer((request, response) => { requests++; answer(request, response, requests); });
await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
t.teardown(() => { busy.closeAllConnections(); busy.close(); });
const busyClient = createTokenServiceClient({
  baseUrl: `http://127.0.0.1:${(busy.address() as AddressInfo).port}`,
  getAccessToken: async () => 'any',
});
const acsToken = () => signJwt({ alg: 'HS256', typ: 'JWT' }, { skypeid: 'acs:x', exp: Math.floor(Date.now() / 1000) + 3600 }, 'k');
function problem(response: ServerResponse, status: 429 | 503 | 500, retryAfter?: string) {
  response.writeHead(status, { 'content-type': 'application/problem+json', ...(retryAfter ? { 'retry-after': retryAfter } : {}) });
  response.end(JSON.stringify({ type: 'urn:test', title: 'Busy', status, detail: 'busy', code: status === 429 ? 'rate_limited' : 'unavailable' }));
}
function token(response: ServerResponse, value: string) {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ token: value, expiresOn: new Date(Date.now() + 3600_000).toISOString(), user: { communicationUserId: 'acs:x' } }));
}

t.test('tokenRefresher waits out Retry-After on 429 and 503, then retries', async (t) => {
  requests = 0;
  const fresh = acsToken();
  const times: number[] = [];
  answer = (_request, response, count) => {
    times.push(Date.now());
    if (count === 1) problem(response, 429, '1');
    else if (count === 2) problem(response, 503, '1');
    else token(response, fresh);
  };
  t.equal(await busyClient.tokenRefresher()(), fresh);
  t.equal(requests, 3, 'two refusals, then the token');
  t.ok(times[1]! - times[0]! >= 950 && times[2]! - times[1]! >= 950, 'each retry waited the second Retry-After asked for');
});

t.test('an answer that is not the service\'s problem details (a proxy\'s, a gateway\'s) is a typed error too, and retried on 503', async (t) => {
  requests = 0;
  const fresh = acsToken();
  answer = (_request, response, count) => {
    if (count === 1) { response.writeHead(503, { 'retry-after': '1' }); response.end(); return; }
    token(response, fresh);
  };
  t.equal(await busyClient.tokenRefresher()(), fresh, 'an empty 503 with Retry-After is waited out');
  t.equal(requests, 2);

  answer = (_request, response) => { response.writeHead(502, 'Bad Gateway', { 'content-type': 'text/html' }); response.end('<html>bad gateway</html>'); };
  const error = await busyClient.getToken().catch((e: unknown) => e);
  t.ok(error instanceof TokenServiceProblem, 'a TokenServiceProblem');
  t.match(error, { status: 502, code: 'http_502', problem: { title: 'Bad Gateway' } });
});

t.test('Retry-After: whole seconds or an HTTP date; anything else is unreadable', async (t) => {
  const now = Date.parse('Sun, 06 Dec 2026 00:00:00 GMT');
  t.equal(parseRetryAfter('7', now), 7);
  t.equal(parseRetryAfter(' 7 ', now), 7);
  t.equal(parseRetryAfter('Sun, 06 Dec 2026 00:00:30 GMT', now), 30);
  t.equal(parseRetryAfter('Sat, 05 Dec 2026 23:00:00 GMT', now), 0, 'a date past: at once');
  for (const unreadable of ['-5', 'Busy 12', '0x10', '1.5', 'Infinity', '1e309', '']) t.equal(parseRetryAfter(unreadable, now), undefined, JSON.stringify(unreadable));
});

t.test('tokenRefresher retries a bounded number of times and never waits past its bound', async (t) => {
  requests = 0;
  answer = (_request, response) => problem(response, 429, '0');
  t.match(await busyClient.tokenRefresher({ maxRetries: 2 })().catch((e: unknown) => e), { status: 429, code: 'rate_limited' });
  t.equal(requests, 3, 'the first call and two retries');

  requests = 0;
  answer = (_request, response) => problem(response, 503, '120');
  const started = Date.now();
  t.match(await busyClient.tokenRefresher()().catch((e: unknown) => e), { status: 503, retryAfterSeconds: 120 });
  t.equal(requests, 1, 'a Retry-After beyond the bound is not waited for');
  t.ok(Date.now() - started < 1000, 'thrown at once');

  t.throws(() => busyClient.tokenRefresher({ maxRetries: Number.NaN }), { name: 'TypeError', message: /maxRetries/ }, 'a bound that would retry forever is refused');
  t.throws(() => busyClient.tokenRefresher({ maxRetryAfterSeconds: -1 }), { name: 'TypeError', message: /maxRetryAfterSeconds/ });
  t.throws(() => busyClient.tokenRefresher({ maxRetryAfterSeconds: 3e6 }), { name: 'TypeError', message: /maxRetryAfterSeconds must be a number of seconds from 0 to 2147483/ }, 'a wait setTimeout cannot hold is refused');

  requests = 0;
  answer = (_request, response) => problem(response, 500);
  t.match(await busyClient.tokenRefresher()().catch((e: unknown) => e), { status: 500 });
  t.equal(requests, 1, 'other failures are not retried');
});

t.test('the abort signal AzureCommunicationTokenCredential passes rejects at once, also while waiting', async (t) => {
  requests = 0;
  answer = (_request, response) => problem(response, 429, '10');
  const waiting = new AzureCommunicationTokenCredential({ tokenRefresher: busyClient.tokenRefresher() });
  let started = Date.now();
  t.match(await waiting.getToken({ abortSignal: AbortSignal.timeout(300) }).catch((e: unknown) => e), { name: 'AbortError' });
  t.ok(Date.now() - started < 2000, 'did not sit out the ten seconds');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(requests, 1, 'no retry after the abort');
  waiting.dispose();

  requests = 0;
  let cancelled = false;
  answer = (request) => request.on('close', () => { cancelled = true; });  // never answers
  const hanging = new AzureCommunicationTokenCredential({ tokenRefresher: busyClient.tokenRefresher() });
  started = Date.now();
  t.match(await hanging.getToken({ abortSignal: AbortSignal.timeout(300) }).catch((e: unknown) => e), { name: 'AbortError' });
  t.ok(Date.now() - started < 2000, 'a request in flight is abandoned at once');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.ok(cancelled, 'and its connection closed');
  hanging.dispose();

  requests = 0;
  const aborted = AbortSignal.abort();
  t.match(await busyClient.tokenRefresher()(aborted).catch((e: unknown) => e), { name: 'AbortError' });
  t.equal(requests, 0, 'an already aborted signal sends nothing');
});
