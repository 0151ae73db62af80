// Every plugin declares the plugins and decorators it reads (fastify-plugin's `dependencies` and
// `decorators`): registered without them it does not start, and the error names what is
// missing, instead of failing at the first request that reads it. buildApp's order starts.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import Fastify, { type FastifyInstance } from 'fastify';
import { loadConfig } from '../src/config/index.js';
import { loadContract } from '../src/http/contract.js';
import { Metrics } from '../src/metrics.js';
import acs from '../src/plugins/acs.js';
import audit from '../src/plugins/audit.js';
import authentication from '../src/plugins/authentication.js';
import database from '../src/plugins/database.js';
import identities from '../src/plugins/identities.js';
import demo from '../src/plugins/demo.js';
import documentation from '../src/plugins/documentation.js';
import httpSecurity from '../src/plugins/httpSecurity.js';
import lifecycle from '../src/plugins/lifecycle.js';
import metrics from '../src/plugins/metrics.js';
import problemDetails from '../src/plugins/problemDetails.js';
import probes from '../src/plugins/probes.js';
import rateLimits from '../src/plugins/rateLimits.js';
import refusals from '../src/plugins/refusals.js';
import requestLog from '../src/plugins/requestLog.js';
import teams from '../src/plugins/teams.js';
import loopbackHostOnly from '../src/local/loopbackHostOnly.js';
import { startTestService } from './helpers/testService.js';

t.setTimeout(120_000);

const config = loadConfig({
  // Never connected to: no plugin here gets as far as a query.
  DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
  ACS_CONNECTION_STRING: `endpoint=https://example.communication.azure.com/;accesskey=${randomBytes(32).toString('base64')}`,
  AZURE_TENANT_ID: '00000000-0000-4000-8000-000000000001',
  AZURE_CLIENT_ID: '00000000-0000-4000-8000-000000000002',
  AZURE_CLIENT_SECRET: 'not-used-here',
  LOG_LEVEL: 'silent',
});

type Registration = (app: FastifyInstance) => unknown;

/** Registers `steps` on a new bare Fastify and starts it; resolves to the start's error, if any. */
async function start(steps: Registration[]): Promise<Error | undefined> {
  const app = Fastify({ logger: false });
  for (const step of steps) step(app);
  try {
    await app.ready();
    return undefined;
  } catch (error) {
    return error as Error;
  } finally {
    await app.close().catch(() => undefined);
  }
}

// Each plugin that reads another's decorators, alone on a bare Fastify: the first of its
// decorators it looks for (Fastify's, then the reply's, then the request's) is named.
const needing: Array<{ name: string; register: Registration; missing: string }> = [
  { name: 'database', register: (app) => app.register(database, { config }), missing: "'metrics' required by 'database' is not present in Fastify" },
  { name: 'audit', register: (app) => app.register(audit, { config: config.audit }), missing: "'pool' required by 'audit' is not present in Fastify" },
  { name: 'acs', register: (app) => app.register(acs, { config: config.acs }), missing: "'metrics' required by 'acs' is not present in Fastify" },
  {
    // It answers its refusals itself, as the error handler would.
    name: 'authentication', register: (app) => app.register(authentication, { auth: config.auth }),
    missing: "'sendError' required by 'authentication' is not present in Fastify",
  },
  {
    name: 'refusals', register: (app) => app.register(refusals),
    missing: "'onRefusal' required by 'refusals' is not present in Fastify",
  },
  { name: 'request-log', register: (app) => app.register(requestLog), missing: "'hashUser' required by 'request-log' is not present in Fastify" },
  {
    name: 'rate-limits', register: (app) => app.register(rateLimits, { config: config.rateLimits }),
    missing: "'metrics' required by 'rate-limits' is not present in Fastify",
  },
  { name: 'teams', register: (app) => app.register(teams, { auth: config.auth }), missing: "'metrics' required by 'teams' is not present in Fastify" },
  {
    name: 'identities', register: (app) => app.register(identities, { acs: config.acs, deletions: config.deletions }),
    missing: "'identityStore' required by 'identities' is not present in Fastify",
  },
  {
    name: 'demo', register: (app) => app.register(demo, { mode: 'entra', auth: config.auth, demo: config.demo }),
    missing: "'problem' required by 'demo' is not present in Reply",
  },
];

t.test('a plugin registered without what it reads does not start, and says what is missing', async (t) => {
  for (const { name, register, missing } of needing) {
    const error = await start([register]);
    t.equal(error?.message, `The decorator ${missing}`, name);
  }
});

t.test('the order buildApp had (the request log before the audit plugin) does not start', async (t) => {
  const error = await start([
    (app) => app.register(metrics, { config: config.metrics, httpLimits: config.http }),
    (app) => app.register(requestLog),
    (app) => app.register(problemDetails, { auth: config.auth }),
  ]);
  t.equal(error?.message, "The decorator 'hashUser' required by 'request-log' is not present in Fastify");
});

t.test('decorators of the same names are not enough: the plugin that provides them is named', async (t) => {
  const error = await start([
    (app) => { app.decorate('metrics', new Metrics()); app.decorate('sampleAtScrape', () => undefined); },
    (app) => app.register(acs, { config: config.acs }),
  ]);
  t.equal(error?.message, "The dependency 'metrics' of plugin 'acs' is not registered");
});

t.test('a plugin that reads nothing of the others starts alone', async (t) => {
  const alone: Array<[string, Registration]> = [
    ['metrics', (app) => app.register(metrics, { config: config.metrics, httpLimits: config.http })],
    ['problem-details', (app) => app.register(problemDetails, { auth: config.auth })],
    ['lifecycle', (app) => app.register(lifecycle)],
    ['probes', (app) => app.register(probes, { port: undefined, host: config.host, httpLimits: config.http })],
    ['http-security', (app) => app.register(httpSecurity, { corsOrigins: [] })],
    ['documentation', (app) => app.register(documentation, { contract: loadContract(), docs: config.docs })],
    ['loopback-host-only', (app) => app.register(loopbackHostOnly)],
  ];
  for (const [name, register] of alone) t.equal(await start([register]), undefined, name);
});

t.test("the service's own registration starts, and what the plugins read of each other works", async (t) => {
  const svc = await startTestService(t, { ACS_CIRCUIT_BREAKER_THRESHOLD: '1', ACS_CIRCUIT_BREAKER_COOLDOWN_SECONDS: '600', ACS_MAX_RETRIES: '0' });
  for (const name of ['metrics', 'problem-details', 'lifecycle', 'probes', 'database', 'audit', 'acs', 'authentication', 'refusals',
    'request-log', 'rate-limits', 'http-security', 'teams', 'identities', 'documentation']) {
    t.ok(svc.app.hasPlugin(name), `${name} is registered`);
  }
  const scrape = async () => {
    const response = await svc.app.inject({ url: '/metrics' });
    t.equal(response.statusCode, 200);
    return response.body;
  };
  t.equal((await svc.request({ url: '/api/token', token: 'not-a-token' })).statusCode, 401);
  const before = await scrape();
  t.match(before, /^auth_failures_total\{reason="invalid_token"\} 1$/m, 'the refusal was counted (refusals reads metrics)');
  t.match(before, /^db_pool_connections\{state="total"\} \d+$/m, 'the pool is sampled at scrape time (database)');
  t.match(before, /^acs_circuit_open 0$/m);
  svc.acs.setOffline(true);
  t.equal((await svc.request({ method: 'POST', url: '/api/user', token: svc.userToken() })).statusCode, 503);
  t.match(await scrape(), /^acs_circuit_open 1$/m, 'the ACS circuit is sampled at scrape time (acs)');
});
