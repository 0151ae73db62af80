// Which database failures mean "unavailable" (503, try again) and which are a bug (500): the
// errors are those PostgreSQL and `pg` really raise, on a connection of the test's own.
import net from 'node:net';
import pg from 'pg';
import t from 'tap';
import { classifyDatabaseError, DatabaseUnavailableError, isDatabaseUnavailable } from '../../src/db/databaseErrors.js';
import { createTestDatabase, TEST_DATABASE } from '../helpers/testDatabase.js';

const database = await createTestDatabase({ migrated: false });
t.teardown(() => database.drop());
const serverOnly = TEST_DATABASE === 'pglite' ? 'PGlite is one session: no timeouts or terminations of a backend of its own' : false;

/** What `run` throws (it must throw). */
async function thrownBy(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

/** A loopback port where nothing listens. */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

t.test('PostgreSQL\'s own refusals of a statement are bugs, not outages', async (t) => {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  t.teardown(() => client.end());
  for (const [statement, code] of [['SELECT * FROM no_such_table', '42P01'], ['SELECT 1/0', '22012'], ['SELEKT 1', '42601']] as const) {
    const error = await thrownBy(() => client.query(statement));
    t.equal((error as { code?: string }).code, code, statement);
    t.notOk(isDatabaseUnavailable(error), `${code} is not an outage`);
    t.equal(await thrownBy(async () => classifyDatabaseError(error)), error, 'rethrown unchanged');
  }
});

t.test('a statement timeout (57014) is an outage', { skip: serverOnly }, async (t) => {
  const client = new pg.Client({ connectionString: database.url, statement_timeout: 50 });
  await client.connect();
  t.teardown(() => client.end());
  const error = await thrownBy(() => client.query('SELECT pg_sleep(5)'));
  t.equal((error as { code?: string }).code, '57014');
  t.ok(isDatabaseUnavailable(error));
  const classified = await thrownBy(async () => classifyDatabaseError(error));
  t.type(classified, DatabaseUnavailableError);
  t.equal(classified.message, 'The database is unavailable');
  t.equal(classified.cause, error, 'the original is its cause');
});

t.test('a connection refused (ECONNREFUSED) is an outage', async (t) => {
  const url = new URL(database.url);
  url.port = String(await closedPort());
  const error = await thrownBy(() => new pg.Client({ connectionString: url.toString() }).connect());
  t.equal((error as { code?: string }).code, 'ECONNREFUSED');
  t.ok(isDatabaseUnavailable(error));
});

t.test('pg\'s client-side failures, which carry no code, are outages by their message', { skip: serverOnly }, async (t) => {
  // A server that accepts connections and never answers: pg's connection timeout.
  const silent = net.createServer(() => undefined).listen(0, '127.0.0.1');
  await new Promise((resolve) => silent.once('listening', resolve));
  t.teardown(() => { silent.close(); });
  const url = new URL(database.url);
  url.port = String((silent.address() as net.AddressInfo).port);
  const pool = new pg.Pool({ connectionString: url.toString(), connectionTimeoutMillis: 100 });
  t.teardown(() => pool.end());
  const timedOut = await thrownBy(() => pool.query('SELECT 1'));
  t.notOk((timedOut as { code?: string }).code, `no code: ${timedOut.message}`);
  t.ok(isDatabaseUnavailable(timedOut));

  // A connection the server ends under a running statement.
  const victim = new pg.Client({ connectionString: database.url });
  victim.on('error', () => undefined);
  await victim.connect();
  const { rows } = await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const running = thrownBy(() => victim.query('SELECT pg_sleep(5)'));
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  // Cancelled by the server: its own code (57P01, admin shutdown) or pg's "Connection terminated".
  await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
  await admin.end();
  const terminated = await running;
  t.ok(isDatabaseUnavailable(terminated), `${(terminated as { code?: string }).code ?? ''} ${terminated.message}`);

  for (const message of ['Connection terminated unexpectedly', 'Query read timeout', 'Client has encountered a connection error and is not queryable']) {
    t.ok(isDatabaseUnavailable(new Error(message)), message);
  }
});

t.test('every SQLSTATE of classes 08, 53 and 57 and the network codes; nothing that is not an Error', async (t) => {
  const withCode = (code: string) => Object.assign(new Error('failed'), { code });
  for (const code of ['08006', '08001', '53300', '53100', '57P01', '57P03', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']) {
    t.ok(isDatabaseUnavailable(withCode(code)), code);
  }
  for (const code of ['23505', '40001', '42501', '25P02', 'EACCES', 'ERR_INVALID_ARG_TYPE']) {
    t.notOk(isDatabaseUnavailable(withCode(code)), code);
  }
  t.notOk(isDatabaseUnavailable({ code: '08006', message: 'Connection terminated' }), 'a plain object');
  t.notOk(isDatabaseUnavailable('Connection terminated'), 'a string');
  t.notOk(isDatabaseUnavailable(undefined));
});
