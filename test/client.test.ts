// The generated TypeScript client (clients/typescript) against the running service on a real
// port: every operation, typed problem errors, and AzureCommunicationTokenCredential refreshing
// through the client's tokenRefresher.
import { AzureCommunicationTokenCredential } from '@azure/communication-common';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { createTokenServiceClient, TokenServiceProblem } from '../clients/typescript/src/index.js';
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
