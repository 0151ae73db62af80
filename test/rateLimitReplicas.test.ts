// The rate limits shared by replicas: with Redis, two service processes spend one budget per
// user; with Redis unreachable, the limits fail open and a metric says so.
// Its own file, with a time budget of its own (README, Tests): it starts two service processes,
// each transpiling src/ with tsx before it listens.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startAcsEmulator } from '../emulators/acsEmulator.js';
import { startEntraEmulator } from '../emulators/entraEmulator.js';
import { startServiceProcess } from './helpers/serviceProcess.js';
import { createTestDatabase } from './helpers/testDatabase.js';
import { startTestService } from './helpers/testService.js';
import { testServiceEnv } from './helpers/testServiceEnv.js';

t.setTimeout(240_000);

t.test('with Redis, two processes share one budget; Redis down, limits fail open', async (t) => {
  const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase()]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close()]); await database.drop(); });
  const env = {
    ...testServiceEnv({ entra, acs, database }),
    REDIS_URL: 'redis://127.0.0.1:6379',
    RATE_LIMIT_REDIS_PREFIX: `test-${randomUUID()}:`,
    RATE_LIMIT_USER_MAX: '4',
  };
  const replicas = await Promise.all([startServiceProcess(t, env), startServiceProcess(t, env)]);
  t.ok(replicas.every((replica) => replica.url), 'two processes listening');
  // A replica waits for Redis before it listens, so its first request is already counted there.
  for (const replica of replicas) t.match(await (await fetch(`${replica.url}/metrics`)).text(), /rate_limit_store_up 1/, 'Redis ready once listening');
  const objectId = randomUUID();
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const response = await fetch(`${replicas[i % 2]!.url}/api/user`, { headers: { authorization: `Bearer ${entra.mintAccessToken({ objectId })}` } });
    statuses.push(response.status);
  }
  t.same(statuses, [404, 404, 404, 404, 429, 429], 'four in all, whichever process answered');

  const down = await startTestService(t, { REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_USER_MAX: '1' });
  const token = down.userToken();
  for (let i = 0; i < 3; i++) t.equal((await down.request({ url: '/api/user', token })).statusCode, 404, 'served although Redis is down');
  t.match((await down.app.inject({ url: '/metrics' })).body, /rate_limit_store_up 0/, 'and the metric says so');
});
