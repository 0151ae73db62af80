// Query parameters an API operation does not know are refused, not ignored: the old samples'
// `?scope=voip` would otherwise get the default scopes silently. The refusal names the
// parameter (and, for `scope`, the one meant), and nothing is created or asked of ACS.
import t from 'tap';
import { loadContract } from '../src/http/contract.js';
import { startTestService, type RequestOptions } from './helpers/testService.js';

type Method = NonNullable<RequestOptions['method']>;
const contract = loadContract() as { paths: Record<string, Record<string, { operationId: string }>> };
const apiOperations = Object.entries(contract.paths).filter(([path]) => path.startsWith('/api/'))
  .flatMap(([path, item]) => Object.entries(item).map(([method, { operationId }]) => ({ path, method: method.toUpperCase() as Method, operationId })));

const svc = await startTestService(t, { ACS_TOKEN_SCOPES: 'chat,voip', ACS_ALLOWED_SCOPES: 'chat,voip' });

t.test('?scope=voip (the old samples\' parameter): 400 naming scopes, nothing created, ACS not called', async (t) => {
  const token = svc.userToken();
  const before = await svc.snapshot();
  const response = await svc.request({ url: '/api/token?scope=voip', token });
  t.equal(response.statusCode, 400);
  t.equal(response.json.code, 'invalid_request');
  t.match(response.json.detail, /\bscopes\b/, 'the detail names scopes');
  t.same(response.json.errors, [{ in: 'query', name: 'scope', reason: 'is not a parameter of this operation; did you mean scopes?' }]);
  t.equal(svc.acs.counters.requests, 0, 'no ACS call');
  t.same(await svc.snapshot(), before, 'no identity row');
  t.equal((await svc.request({ url: '/api/user', token })).statusCode, 404, 'the user has no identity');
});

t.test('any other unknown query parameter: 400 naming it, on every API operation', async (t) => {
  const token = svc.userToken();
  for (const { path, method, operationId } of apiOperations) {
    const before = await svc.snapshot();
    const acsRequests = svc.acs.counters.requests;
    const response = await svc.request({ method, url: `${path}?expiresInMinute=120&debug`, token, headers: { 'teams-user-aad-token': 'x' } });
    t.equal(response.statusCode, 400, `${operationId}: 400`);
    t.equal(response.json.code, 'invalid_request', `${operationId}: invalid_request`);
    t.same(response.json.errors.map((e: { name: string }) => e.name), ['expiresInMinute', 'debug'], `${operationId}: names both`);
    t.match(response.json.detail, /expiresInMinute/);
    t.equal(svc.acs.counters.requests, acsRequests, `${operationId}: ACS not called`);
    t.same(await svc.snapshot(), before, `${operationId}: nothing changed`);
  }
});

t.test('the known parameters still work, and the probes ignore a query', async (t) => {
  const token = svc.userToken();
  const response = await svc.request({ url: '/api/token?scopes=voip&expiresInMinutes=90', token });
  t.equal(response.statusCode, 200);
  t.equal(svc.acs.decodeToken(response.json.token)!.acsScope, 'voip');
  t.equal((await svc.request({ url: '/api/user', token })).statusCode, 200);
  t.equal((await svc.request({ url: '/healthz?check=1' })).statusCode, 200);
});
