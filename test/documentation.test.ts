// The API docs (/docs, /openapi.json) never take their server URL from the request: behind a
// caching CDN a page built from `Host: evil.example` would send "Try it out" calls, with the
// user's bearer token, to that host. They name PUBLIC_BASE_URL or a relative server, are never
// stored by caches, and DOCS_ENABLED=false turns them off.
import { createRequire } from 'node:module';
import t from 'tap';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { startTestService, type TestService } from './helpers/testService.js';

const EVIL = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };

async function docsResponses(svc: TestService) {
  const urls = ['/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/index.html', '/docs/static/swagger-initializer.js', '/docs/static/swagger-ui-bundle.js', '/openapi.json'];
  return Promise.all(urls.map(async (url) => ({ url, response: await svc.app.inject({ url, headers: EVIL }) })));
}

// First in this file: no test before it has asked for a page.
t.test('Swagger UI and @fastify/swagger are loaded at the first request for a page, not at start', async (t) => {
  const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((file) => /node_modules\/@fastify\/swagger(-ui)?\//.test(file));
  // Building the pages must not print a warning in the service's log (a deprecated option, say).
  const warnings: string[] = [];
  const onWarning = (warning: Error) => { warnings.push(`${warning.name}: ${warning.message}`); };
  process.on('warning', onWarning);
  t.teardown(() => { process.off('warning', onWarning); });
  const svc = await startTestService(t);
  t.same(loaded(), [], 'not loaded by a started service');
  t.equal((await svc.app.inject({ url: '/openapi.json' })).statusCode, 200);
  t.ok(loaded().some((file) => file.includes('/@fastify/swagger-ui/')), 'loaded once asked for');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(warnings, [], 'no warning while the pages were built');
  const unknown = await svc.request({ url: '/docs/static/no-such-file.js' });
  t.equal(unknown.statusCode, 404, 'an unknown page is the app\'s own 404');
  t.equal(unknown.json.code, 'not_found');
});

t.test('no PUBLIC_BASE_URL: a relative server; Host never appears; no-store everywhere', async (t) => {
  // TRUST_PROXY too: a forwarded host must not be believed either.
  const svc = await startTestService(t, { TRUST_PROXY: '127.0.0.1' });
  for (const { url, response } of await docsResponses(svc)) {
    t.ok(response.statusCode < 400, `${url}: ${response.statusCode}`);
    t.notMatch(response.body, /evil\.example/, `${url}: the Host header does not appear`);
    t.notMatch(JSON.stringify(response.headers), /evil\.example/, `${url}: nor in a header`);
    t.equal(response.headers['cache-control'], 'no-store', `${url}: Cache-Control: no-store`);
  }
  const json = JSON.parse((await svc.app.inject({ url: '/docs/json', headers: EVIL })).body);
  t.same(json.servers, [{ url: '/' }], 'Try it out calls the origin that served the page');
  // What a client generator reads: the same server, not the contract's development one.
  const document = JSON.parse((await svc.app.inject({ url: '/openapi.json', headers: EVIL })).body);
  t.same(document.servers, [{ url: '/' }], '/openapi.json names the same server');
});

t.test('PUBLIC_BASE_URL names the server', async (t) => {
  const svc = await startTestService(t, { PUBLIC_BASE_URL: 'https://tokens.contoso.example/' });
  const json = JSON.parse((await svc.app.inject({ url: '/docs/json', headers: EVIL })).body);
  t.same(json.servers, [{ url: 'https://tokens.contoso.example' }]);
  const document = JSON.parse((await svc.app.inject({ url: '/openapi.json', headers: EVIL })).body);
  t.same(document.servers, [{ url: 'https://tokens.contoso.example' }], '/openapi.json names it too');
  for (const { url, response } of await docsResponses(svc)) t.notMatch(response.body, /evil\.example/, `${url}: no Host`);
});

t.test('DOCS_ENABLED=false: /docs and /openapi.json are 404', async (t) => {
  const svc = await startTestService(t, { DOCS_ENABLED: 'false' });
  for (const url of ['/docs', '/docs/', '/docs/json', '/docs/static/index.html', '/openapi.json']) {
    const response = await svc.request({ url });
    t.equal(response.statusCode, 404, `${url}: 404`);
    t.equal(response.json.code, 'not_found');
  }
  t.equal((await svc.request({ url: '/healthz' })).statusCode, 200, 'the rest is served');
});

t.test('PUBLIC_BASE_URL must be https (http only on loopback), without query or fragment', async (t) => {
  const base = { DATABASE_URL: 'postgres://x@127.0.0.1/x', ACS_CONNECTION_STRING: 'endpoint=https://a.communication.azure.com/;accesskey=a2V5', AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47', AZURE_CLIENT_ID: 'api' };
  for (const bad of ['http://tokens.contoso.example', 'ftp://tokens.contoso.example', 'not a url', 'https://tokens.contoso.example/?a=1', 'https://tokens.contoso.example/#x']) {
    t.throws(() => loadConfig({ ...base, PUBLIC_BASE_URL: bad }), ConfigError, `${bad}: refused`);
  }
  t.equal(loadConfig({ ...base, PUBLIC_BASE_URL: 'http://127.0.0.1:3000' }).docs.publicBaseUrl, 'http://127.0.0.1:3000');
  t.equal(loadConfig({ ...base, PUBLIC_BASE_URL: 'https://contoso.example/tokens/' }).docs.publicBaseUrl, 'https://contoso.example/tokens');
  t.equal(loadConfig(base).docs.enabled, true, 'on by default');
});
