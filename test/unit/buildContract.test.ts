// The build writes openapi.yaml as JSON, and its routes as fastify-openapi-glue's parser makes
// them, for the built service to read at start: they must be what the service makes of
// openapi.yaml when run from its sources, and a contract that is not valid OpenAPI must fail the
// build.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildContract } from '../../scripts/buildContract.js';
import { loadContract } from '../../src/http/contract.js';
import { BUILT_ROUTES_FILE, parseContractRoutes, type ContractRoute } from '../../src/http/contractRoutes.js';

t.test('the JSON written at build time is openapi.yaml, parsed, and its routes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'contract-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await buildContract(dir);
  const built = JSON.parse(readFileSync(join(dir, 'openapi.json'), 'utf8')) as Record<string, unknown>;
  t.same(built, loadContract());
  t.match(built, { openapi: /^3\./, paths: { '/api/token': {} } });

  const routes = JSON.parse(readFileSync(join(dir, BUILT_ROUTES_FILE), 'utf8')) as ContractRoute[];
  // As JSON: what the file can hold of the parser's routes (no undefined properties).
  t.same(routes, JSON.parse(JSON.stringify(await parseContractRoutes(loadContract()))));
  t.match(routes.find((route) => route.operationId === 'getToken'), { method: 'GET', url: '/api/token', schema: { response: { 200: {} } } });
});

t.test('a contract that is not valid OpenAPI has no routes: the build fails', async (t) => {
  const contract = loadContract();
  await t.rejects(parseContractRoutes({ ...contract, info: { title: 42 } }), /valid specification/);
});

t.test('the routes are exactly the contract\'s operations: no HEAD route beside a GET', async (t) => {
  const contract = loadContract() as { paths: Record<string, Record<string, { operationId?: string }>> };
  const operations = Object.entries(contract.paths).flatMap(([path, methods]) =>
    Object.entries(methods).filter(([, operation]) => operation?.operationId).map(([method]) => `${method.toUpperCase()} ${path}`));
  const routes = (await parseContractRoutes(loadContract())).map((route) => `${route.method} ${route.openapiPath}`);
  t.same(routes.toSorted(), operations.toSorted());
});
