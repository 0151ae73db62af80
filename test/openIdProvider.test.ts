// The service against a real OpenID Provider (oidc-provider, certified), not only against our
// own emulators: a user signed in through its code flow gets an ACS identity, its client's own
// token is refused as app-only, and when it restarts with a new signing key (the old one
// withdrawn) its users are let in again within seconds.
import t from 'tap';
import { startOpenIdProvider } from './helpers/openIdProvider.js';
import { startTestService } from './helpers/testService.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const provider = await startOpenIdProvider();
t.teardown(() => provider.close());
const svc = await startTestService(t, { AUTH_ISSUERS: JSON.stringify([provider.authIssuer]) });

t.test('a user signed in through its code flow gets one ACS identity', async (t) => {
  const token = await provider.userAccessToken('alice');
  const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
  t.equal(header.typ, 'at+jwt', 'an RFC 9068 JWT access token');
  const issued = await svc.request({ url: '/api/token', token });
  t.equal(issued.statusCode, 200);
  const again = await svc.request({ url: '/api/token', token: await provider.userAccessToken('alice') });
  t.equal(again.json.user.communicationUserId, issued.json.user.communicationUserId, 'the same user in a new session: the same identity');
  const { rows } = await svc.db.query('SELECT tenant_id, object_id FROM acs_identities');
  t.same(rows, [{ tenant_id: provider.issuer, object_id: 'alice' }], 'keyed by (issuer, sub)');
});

t.test('its client credentials token is refused: app-only', async (t) => {
  const before = await svc.snapshot();
  const answer = await svc.request({ url: '/api/token', token: await provider.clientAccessToken() });
  t.equal(answer.statusCode, 403);
  t.equal(answer.json.code, 'insufficient_scope');
  t.match(answer.json.detail, /App-only tokens are not accepted/);
  t.same(await svc.snapshot(), before, 'nothing changed');
});

t.test('restarted with a new key: its users get in within 10 s, the withdrawn key is refused', async (t) => {
  const oldToken = await provider.userAccessToken('bob');
  t.equal((await svc.request({ url: '/api/user', method: 'POST', token: oldToken })).statusCode, 201, 'bob, before the rotation');
  // Once the last read is past its cooldown, a kid it never published makes the service read
  // its key set again: a moment before the rotation.
  await sleep(5200);
  const [header, payload, signature] = oldToken.split('.') as [string, string, string];
  const unknownKid = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(header, 'base64url').toString()), kid: 'never-published' })).toString('base64url');
  t.match((await svc.request({ url: '/api/user', token: `${unknownKid}.${payload}.${signature}` })).json.detail, /unknown key/);
  const oldKid = provider.kid;
  await provider.restartWithNewKey();
  const rotatedAt = Date.now();
  t.not(provider.kid, oldKid, 'a new kid');
  const statuses: number[] = [];
  while (statuses.at(-1) !== 200 && Date.now() - rotatedAt < 15_000) {
    if (statuses.length > 0) await sleep(250);
    statuses.push((await svc.request({ url: '/api/user', token: await provider.userAccessToken('bob') })).statusCode);
  }
  const waitedMs = Date.now() - rotatedAt;
  t.equal(statuses[0], 401, 'at first refused: its key set was read within the cooldown');
  t.equal(statuses.at(-1), 200, 'a token signed with the new key is accepted: bob\'s identity');
  t.ok(waitedMs <= 10_000, `within 10 s of the rotation (${waitedMs} ms)`);
  const withdrawn = await svc.request({ url: '/api/user', token: oldToken });
  t.equal(withdrawn.statusCode, 401, 'a token of the withdrawn key is refused');
  t.match(withdrawn.json.detail, /unknown key/);
});
