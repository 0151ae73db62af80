import { createHash, createHmac, randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { CommunicationIdentityClient, type TokenScope } from '@azure/communication-identity';
import { startAcsEmulator, type AcsEmulator } from '../emulators/acsEmulator.js';

async function setup(t: Test, opts: { maxRetries?: number } = {}) {
  const emulator = await startAcsEmulator();
  t.teardown(() => emulator.close());
  const client = new CommunicationIdentityClient(emulator.connectionString, {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: opts.maxRetries ?? 0 },
  });
  return { emulator, client };
}

// The SDK's RestError (from @azure/core-rest-pipeline, not a direct dependency of ours).
interface RestError extends Error {
  statusCode?: number;
  code?: string;
  details?: unknown;
  response?: { headers: { get(name: string): string | undefined } };
}

async function restError(t: Test, promise: Promise<unknown>): Promise<RestError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  t.equal((err as Error | undefined)?.name, 'RestError');
  return err as RestError;
}

/** A request signed like the SDK does, with an overridable x-ms-date. */
async function signedFetch(emulator: AcsEmulator, method: string, pathAndQuery: string, body: string, date = new Date()) {
  const key = Buffer.from(/accesskey=(.+)$/.exec(emulator.connectionString)![1]!, 'base64');
  const url = new URL(pathAndQuery, emulator.endpoint);
  const xmsDate = date.toUTCString();
  const hash = createHash('sha256').update(body).digest('base64');
  const signature = createHmac('sha256', key).update(`${method}\n${pathAndQuery}\n${xmsDate};${url.host};${hash}`).digest('base64');
  const res = await fetch(url, {
    method,
    body: body || undefined,
    headers: {
      'content-type': 'application/json',
      'x-ms-date': xmsDate,
      'x-ms-content-sha256': hash,
      authorization: `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`,
    },
  });
  return { status: res.status, contentType: res.headers.get('content-type'), json: (await res.json()) as { error: { code: string; message: string } } };
}

/** An unsigned Teams (Entra) access token: the exchange only reads its claims. */
function teamsToken(claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

t.test('creates identities with and without a token', async (t) => {
  const { emulator, client } = await setup(t);
  const user = await client.createUser();
  t.match(user.communicationUserId, /^8:acs:[0-9a-f-]+_[0-9a-f-]{36}$/);
  t.ok(emulator.hasIdentity(user.communicationUserId));

  const { user: user2, token, expiresOn } = await client.createUserAndToken(['chat', 'voip']);
  t.same(emulator.identityIds().sort(), [user.communicationUserId, user2.communicationUserId].sort());
  const claims = emulator.decodeToken(token);
  t.equal(claims?.skypeid, user2.communicationUserId.slice(2));
  t.equal(claims?.acsScope, 'chat,voip');
  t.equal(claims!.exp - claims!.iat, 1440 * 60, 'default lifetime is 24 h');
  t.equal(expiresOn.getTime(), claims!.exp * 1000);
  t.ok(emulator.isTokenValid(token));
  t.match(emulator.counters, { identitiesCreated: 2, tokensIssued: 1, rejectedSignatures: 0 });
});

t.test('issues tokens with scopes and lifetime, and validates them', async (t) => {
  const { emulator, client } = await setup(t);
  const user = await client.createUser();
  const { token, expiresOn } = await client.getToken(user, ['chat', 'voip.join'], { tokenExpiresInMinutes: 60 });
  const claims = emulator.decodeToken(token)!;
  t.match(claims, { skypeid: user.communicationUserId.slice(2), scp: 1792, acsScope: 'chat,voip.join', csi: String(claims.iat) });
  t.equal(claims.exp - claims.iat, 3600);
  t.equal(expiresOn.getTime(), claims.exp * 1000);
  t.ok(Math.abs(claims.iat * 1000 - Date.now()) < 5000);
  t.equal(emulator.decodeToken(token.slice(0, -2) + 'xx'), undefined, 'tampered signature is rejected');

  const bad = await restError(t, client.getToken(user, ['admin' as TokenScope]));
  t.match(bad, { statusCode: 400, code: 'ValidationError' });
  t.equal(bad.details && (bad.details as { error?: { target?: string } }).error?.target, 'scopes');
  t.match(await restError(t, client.getToken(user, [])), { statusCode: 400, code: 'ValidationError' });
  for (const minutes of [59, 1441]) {
    t.match(await restError(t, client.getToken(user, ['chat'], { tokenExpiresInMinutes: minutes })), { statusCode: 400, code: 'ValidationError' });
  }
  t.match(await restError(t, client.createUserAndToken(['chat'], { tokenExpiresInMinutes: 30 })), { statusCode: 400 });
  t.equal(emulator.counters.tokensIssued, 1, 'failed calls are not counted');
  t.equal(emulator.counters.identitiesCreated, 1);
});

t.test('revocation invalidates earlier tokens only', async (t) => {
  const { emulator, client } = await setup(t);
  const user = await client.createUser();
  const { token: old } = await client.getToken(user, ['voip']);
  await client.revokeTokens(user);
  const { token: fresh } = await client.getToken(user, ['voip']);
  t.notOk(emulator.isTokenValid(old), 'token issued before the revoke is invalid');
  t.ok(emulator.isTokenValid(fresh), 'token issued in the same second after the revoke is valid');
  t.equal(emulator.counters.revocations, 1);
});

t.test('deleting an identity removes it and its tokens', async (t) => {
  const { emulator, client } = await setup(t);
  const { user, token } = await client.createUserAndToken(['chat']);
  await client.deleteUser(user);
  t.notOk(emulator.hasIdentity(user.communicationUserId));
  t.notOk(emulator.isTokenValid(token));
  t.match(await restError(t, client.getToken(user, ['chat'])), { statusCode: 404, code: 'IdentityNotFound' });
  t.match(await restError(t, client.deleteUser(user)), { statusCode: 404 });
  t.match(await restError(t, client.revokeTokens(user)), { statusCode: 404 });
  t.equal(emulator.counters.deletions, 1);
});

t.test('an identity of another resource is not owned', async (t) => {
  const { client } = await setup(t);
  const foreign = { communicationUserId: '8:acs:00000000-0000-0000-0000-000000000000_00000000-0000-0000-0000-000000000001' };
  const err = await restError(t, client.getToken(foreign, ['chat']));
  t.match(err, { statusCode: 401, code: 'IdentityNotOwned', message: "Provided identity doesn't belong to the resource." });
});

t.test('a wrong access key is rejected with 401', async (t) => {
  const { emulator } = await setup(t);
  const wrong = emulator.connectionString.replace(/accesskey=.+$/, `accesskey=${randomBytes(32).toString('base64')}`);
  const client = new CommunicationIdentityClient(wrong, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
  t.match(await restError(t, client.createUser()), { statusCode: 401, code: 'Denied' });
  t.match(emulator.counters, { requests: 1, rejectedSignatures: 1, identitiesCreated: 0 });
  t.same(emulator.identityIds(), []);
  emulator.resetCounters();
  t.equal(emulator.counters.requests, 0);
});

t.test('raw requests: stale x-ms-date, bad api-version', async (t) => {
  const { emulator } = await setup(t);
  const ok = await signedFetch(emulator, 'POST', '/identities?api-version=2023-10-01', '');
  t.equal(ok.status, 201, 'an empty body with content-type application/json is accepted');
  const stale = await signedFetch(emulator, 'POST', '/identities?api-version=2023-10-01', '', new Date(Date.now() - 16 * 60_000));
  t.equal(stale.status, 401);
  t.equal(stale.contentType?.startsWith('application/json'), true);
  t.equal(stale.json.error.code, 'Denied');
  t.equal(emulator.counters.rejectedSignatures, 1);
  const noVersion = await signedFetch(emulator, 'POST', '/identities', '{}');
  t.equal(noVersion.status, 400);
  t.ok(noVersion.json.error.code);
  t.equal((await signedFetch(emulator, 'POST', '/identities?api-version=2021-03-07', '')).status, 400);
  t.equal((await signedFetch(emulator, 'GET', '/nowhere?api-version=2023-10-01', '')).status, 404);
  t.equal((await signedFetch(emulator, 'POST', '/identities?api-version=2023-10-01', '{oops')).status, 400);
});

t.test('injected 429 carries Retry-After and then clears', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.injectFault({ status: 429, retryAfterSeconds: 7, operations: ['createIdentity'] });
  const err = await restError(t, client.createUser());
  t.equal(err.statusCode, 429);
  t.equal(err.code, 'TooManyRequests');
  t.equal(err.response?.headers.get('retry-after'), '7');
  await client.createUser();
  t.equal(emulator.counters.identitiesCreated, 1);

  emulator.injectFault({ status: 503, code: 'ServiceUnavailable', times: Infinity, operations: ['issueToken'] });
  const user = await client.createUser();
  t.match(await restError(t, client.getToken(user, ['chat'])), { statusCode: 503, code: 'ServiceUnavailable' });
  t.match(await restError(t, client.getToken(user, ['chat'])), { statusCode: 503 });
  emulator.clearFaults();
  await client.getToken(user, ['chat']);
});

t.test('the SDK retries injected 5xx by default', async (t) => {
  const { emulator, client } = await setup(t, { maxRetries: 2 });
  emulator.injectFault({ status: 500, times: 1, retryAfterSeconds: 0 });
  await client.createUser();
  t.match(emulator.counters, { requests: 2, identitiesCreated: 1 });
});

t.test('hang until the client aborts; close releases hung requests', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.setHang(true, ['issueToken']);
  const user = await client.createUser();
  const started = Date.now();
  const err = await client.getToken(user, ['chat'], { abortSignal: AbortSignal.timeout(200) }).then(() => undefined, (e: Error) => e);
  t.equal(err?.name, 'AbortError');
  t.ok(Date.now() - started < 2000);
  emulator.setHang(false);
  await client.getToken(user, ['chat']);

  emulator.setHang(true);
  const pending = client.createUser().then(() => 'answered', () => 'failed');
  await new Promise((r) => setTimeout(r, 100));
  const closing = Date.now();
  await emulator.close();
  t.ok(Date.now() - closing < 1000, 'close does not wait for hung requests');
  t.equal(await pending, 'failed');
});

t.test('setHang(false) lets parked requests proceed; latency delays answers', async (t) => {
  const { emulator, client } = await setup(t);
  emulator.setHang(true);
  const pending = client.createUser();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(emulator.counters.identitiesCreated, 0);
  emulator.clearFaults();
  t.ok((await pending).communicationUserId);

  emulator.setLatency(150);
  const started = Date.now();
  await client.createUser();
  t.ok(Date.now() - started >= 140);
});

t.test('Teams token exchange', async (t) => {
  const { emulator, client } = await setup(t);
  const appId = '11111111-1111-1111-1111-111111111111';
  const oid = '22222222-2222-2222-2222-222222222222';
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const aud = 'https://auth.msft.communication.azure.com';
  const scp = 'Teams.ManageCalls Teams.ManageChats';
  const good = teamsToken({ appid: appId, oid, exp, aud, scp });

  const { token, expiresOn } = await client.getTokenForTeamsUser({ teamsUserAadToken: good, clientId: appId, userObjectId: oid });
  const claims = emulator.decodeToken(token)!;
  t.equal(claims.skypeid, `orgid:${oid}`);
  t.equal(claims.exp, exp, 'lives as long as the Teams token');
  t.equal(expiresOn.getTime(), exp * 1000);
  t.ok(emulator.isTokenValid(token));
  t.equal(emulator.counters.teamsExchanges, 1);

  const wrongApp = await restError(t, client.getTokenForTeamsUser({ teamsUserAadToken: good, clientId: 'other', userObjectId: oid }));
  t.match(wrongApp, { statusCode: 400, code: 'ValidationError' });
  t.match(await restError(t, client.getTokenForTeamsUser({ teamsUserAadToken: good, clientId: appId, userObjectId: 'other' })), { statusCode: 400 });
  const expired = teamsToken({ appid: appId, oid, exp: Math.floor(Date.now() / 1000) - 60, aud, scp });
  t.match(await restError(t, client.getTokenForTeamsUser({ teamsUserAadToken: expired, clientId: appId, userObjectId: oid })), { statusCode: 401, code: 'InvalidAccessToken' });
  t.match(await restError(t, client.getTokenForTeamsUser({ teamsUserAadToken: 'not-a-jwt', clientId: appId, userObjectId: oid })), { statusCode: 401, code: 'InvalidAccessToken' });
  const otherAudience = teamsToken({ appid: appId, oid, exp, aud: 'api://someone-else', scp });
  t.match(await restError(t, client.getTokenForTeamsUser({ teamsUserAadToken: otherAudience, clientId: appId, userObjectId: oid })), { statusCode: 401, code: 'InvalidAccessToken' });
  const withoutTeamsScopes = teamsToken({ appid: appId, oid, exp, aud, scp: 'Teams.ManageCalls' });
  t.match(await restError(t, client.getTokenForTeamsUser({ teamsUserAadToken: withoutTeamsScopes, clientId: appId, userObjectId: oid })), { statusCode: 401, code: 'InvalidAccessToken' });
  t.equal(emulator.counters.teamsExchanges, 1);
});

t.test('refuses non-loopback hosts', async (t) => {
  await t.rejects(startAcsEmulator({ host: '0.0.0.0' }), /non-loopback/);
});
