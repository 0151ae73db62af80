// The answers every operation shares (URL too long, no token, no scope, body too large, rate
// limited, ACS refusing) produced for each operation of the contract, so that the contract
// coverage report (scripts/contractCoverage.ts) finds every documented status produced.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { loadContract } from '../src/http/contract.js';
import { startTestService, type RequestOptions } from './helpers/testService.js';

type Method = NonNullable<RequestOptions['method']>;
const contract = loadContract() as { paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown>; security?: unknown[] }>> };
const operations = Object.entries(contract.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, operation]) => ({ path, method: method.toUpperCase() as Method, ...operation })));
const apiOperations = operations.filter((operation) => operation.path.startsWith('/api/'));

t.test('every operation: 414, and 401/403 for the API ones, 413 where a body can come', async (t) => {
  const svc = await startTestService(t);
  for (const { path, method, operationId, responses } of operations) {
    const tooLong = await svc.request({ method, url: `${path}?pad=${'x'.repeat(3000)}`, token: svc.userToken() });
    t.equal(tooLong.statusCode, 414, `${operationId}: 414`);
    if (!path.startsWith('/api/')) continue;
    t.equal((await svc.request({ method, url: path })).statusCode, 401, `${operationId}: 401 without a token`);
    t.equal((await svc.request({ method, url: path, token: svc.userToken({ scope: 'User.Read' }) })).statusCode, 403, `${operationId}: 403 without the scope`);
    if ('413' in responses) {
      const big = await svc.request({ method, url: path, token: svc.userToken(), headers: { 'content-type': 'application/json' }, body: `"${'x'.repeat(20_000)}"` });
      t.equal(big.statusCode, 413, `${operationId}: 413`);
    }
  }
});

t.test('every API operation: 429 once the user\'s budget is spent', async (t) => {
  const svc = await startTestService(t, { RATE_LIMIT_USER_MAX: '1' });
  for (const { path, method, operationId } of apiOperations) {
    const token = svc.userToken();
    await svc.request({ method, url: path, token });
    const limited = await svc.request({ method, url: path, token });
    t.equal(limited.statusCode, 429, `${operationId}: 429`);
    t.equal(limited.json.code, 'rate_limited');
  }
});

t.test('ACS refusing the service\'s credentials: 502 on the operations that call it', async (t) => {
  const probe = await startTestService(t);
  const wrongKey = `endpoint=${probe.acs.endpoint}/;accesskey=${randomBytes(32).toString('base64')}`;
  const svc = await startTestService(t, { ACS_CONNECTION_STRING: wrongKey });
  const objectId = '0c9f8e7d-6b5a-4f3e-9d2c-1b0a9f8e7d6c';
  const token = svc.userToken({ objectId });
  t.equal((await svc.request({ method: 'POST', url: '/api/user', token })).statusCode, 502, 'createUser: 502');
  await svc.db.query("INSERT INTO acs_identities (tenant_id, object_id, acs_user_id, acs_resource) VALUES ($1, $2, $3, '')", [svc.entra.tenantId, objectId, '8:acs:some-resource_00000000-0000-4000-8000-000000000001']);
  const revoked = await svc.request({ method: 'POST', url: '/api/token/revoke', token });
  t.equal(revoked.statusCode, 502, 'revokeTokens: 502');
  t.equal(revoked.json.code, 'acs_rejected');
});
