// Scopes and lifetimes a client asks for: checked against the contract and the allow-list
// before ACS is called; what is allowed reaches ACS as asked.
import t from 'tap';
import { startTestService } from './helpers/testService.js';

const svc = await startTestService(t, { ACS_TOKEN_SCOPES: 'chat', ACS_ALLOWED_SCOPES: 'chat,voip,chat.join', ACS_TOKEN_TTL_MINUTES: '90' });
const token = svc.userToken();
const created = await svc.request({ method: 'POST', url: '/api/user', token });
t.equal(created.statusCode, 201);

t.test('bad query input is a 400 problem naming the field, and ACS is not called', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['scopes=admin', 'scopes', 'invalid_request'],
    ['scopes=', 'scopes', 'invalid_request'],
    ['scopes=chat,,voip', 'scopes', 'invalid_request'],
    ['scopes=CHAT', 'scopes', 'invalid_request'],
    ['scopes=chat&scopes=voip', 'scopes', 'invalid_request'],
    ['scopes=voip.join', 'scopes', 'scope_not_allowed'],
    ['scopes=chat,chat.join.limited', 'scopes', 'scope_not_allowed'],
    ['expiresInMinutes=59', 'expiresInMinutes', 'invalid_request'],
    ['expiresInMinutes=1441', 'expiresInMinutes', 'invalid_request'],
    ['expiresInMinutes=abc', 'expiresInMinutes', 'invalid_request'],
    ['expiresInMinutes=60.5', 'expiresInMinutes', 'invalid_request'],
    ['expiresInMinutes=-60', 'expiresInMinutes', 'invalid_request'],
    ['expiresInMinutes=', 'expiresInMinutes', 'invalid_request'],
  ];
  for (const [query, field, code] of cases) {
    const before = await svc.snapshot();
    const acsRequests = svc.acs.counters.requests;
    const response = await svc.request({ url: `/api/token?${query}`, token });
    t.equal(response.statusCode, 400, `${query} → 400`);
    t.equal(response.json.code, code, `${query}: ${code}`);
    t.equal(response.json.errors?.[0]?.name, field, `${query}: names ${field}`);
    t.equal(response.json.errors?.[0]?.in, 'query', `${query}: in the query`);
    t.equal(svc.acs.counters.requests, acsRequests, `${query}: ACS not called`);
    t.same(await svc.snapshot(), before, `${query}: database unchanged`);
  }
});

t.test('a malformed scopes list is explained in words, not by the contract\'s pattern', async (t) => {
  for (const query of ['scopes=chat,%20voip', 'scopes=admin', 'scopes=chat,,voip']) {
    const response = await svc.request({ url: `/api/token?${query}`, token });
    t.equal(response.statusCode, 400, query);
    const reason = response.json.errors?.[0]?.reason as string;
    t.equal(reason, 'must be a comma-separated list of chat, voip, chat.join, chat.join.limited, voip.join, without spaces', `${query}: ${reason}`);
    t.notMatch(response.json.detail, /pattern|\^\(/, `${query}: no regular expression in the detail`);
  }
});

t.test('a new user with a bad query gets no identity either', async (t) => {
  const newcomer = svc.userToken();
  const response = await svc.request({ url: '/api/token?expiresInMinutes=5000', token: newcomer });
  t.equal(response.statusCode, 400);
  const user = await svc.request({ url: '/api/user', token: newcomer });
  t.equal(user.statusCode, 404);
});

t.test('defaults come from the configuration', async (t) => {
  const response = await svc.request({ url: '/api/token', token });
  t.equal(response.statusCode, 200);
  const claims = svc.acs.decodeToken(response.json.token)!;
  t.equal(claims.acsScope, 'chat');
  const lifetimeMinutes = (Date.parse(response.json.expiresOn) - Date.now()) / 60_000;
  t.ok(lifetimeMinutes > 88 && lifetimeMinutes <= 90, `about 90 minutes: ${lifetimeMinutes.toFixed(1)}`);
});

t.test('allowed scopes and lifetimes reach ACS as asked', async (t) => {
  for (const [scopes, minutes] of [['chat,voip', 60], ['chat.join', 1440], ['voip,voip', 600]] as const) {
    const response = await svc.request({ url: `/api/token?scopes=${scopes}&expiresInMinutes=${minutes}`, token });
    t.equal(response.statusCode, 200, `${scopes} for ${minutes} min`);
    const claims = svc.acs.decodeToken(response.json.token)!;
    t.same(claims.acsScope.split(',').sort(), [...new Set(scopes.split(','))].sort(), 'scopes as asked, once each');
    const lifetime = (Date.parse(response.json.expiresOn) - Date.now()) / 60_000;
    t.ok(lifetime > minutes - 2 && lifetime <= minutes, `lifetime ${lifetime.toFixed(1)} ≈ ${minutes}`);
  }
});

t.test('unknown query parameters are refused (see queryParameters.test.ts); request bodies do no harm', async (t) => {
  const extra = await svc.request({ url: '/api/token?foo=bar', token });
  t.equal(extra.statusCode, 400);
  t.equal(extra.json.errors?.[0]?.name, 'foo');
  // No operation takes a body: any body of any media type is ignored…
  for (const [type, body] of [['application/json', '{"acsUserIdentity":"8:acs:evil"}'], ['application/json', '{'], ['application/xml', '<a/>'], ['text/plain', 'hi']]) {
    const response = await svc.request({ method: 'POST', url: '/api/user', token, headers: { 'content-type': type! }, body: body! });
    t.equal(response.statusCode, 200, `${type} ${body}: ignored`);
    t.equal(response.json.acsUserIdentity, created.json.acsUserIdentity, 'a body cannot choose the identity');
  }
  // …up to 16 KiB.
  const before = await svc.snapshot();
  const huge = await svc.request({ method: 'DELETE', url: '/api/user', token, headers: { 'content-type': 'application/json' }, body: `"${'x'.repeat(20_000)}"` });
  t.equal(huge.statusCode, 413);
  t.equal(huge.json.code, 'payload_too_large');
  t.same(await svc.snapshot(), before, 'nothing deleted');
});

t.test('HEAD is no operation of the contract: 404, no token issued, and the probes have none either', async (t) => {
  for (const url of ['/api/token', '/api/user', '/healthz', '/readyz']) {
    const acsRequests = svc.acs.counters.requests;
    const response = await svc.request({ method: 'HEAD', url, token });
    t.equal(response.statusCode, 404, `HEAD ${url} → 404`);
    t.equal(svc.acs.counters.requests, acsRequests, `HEAD ${url}: ACS not called`);
  }
});
