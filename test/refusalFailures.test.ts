// A refusal whose own handling fails (a refusal listener that throws: a bug) is still answered,
// once, as the refusal it is, and the process lives: whether the key was at hand or had to be
// read first.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startTestService } from './helpers/testService.js';

t.setTimeout(120_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a refusal listener that throws: the refusal is still answered, on the synchronous and the asynchronous path', async (t) => {
  // A short cooldown: a made-up kid after it has passed makes the key set be read again, and
  // the refusal is then answered from that read's promise.
  const lines: string[] = [];
  const svc = await startTestService(t, { AUTH_KEY_REFRESH_COOLDOWN_SECONDS: '1' }, { logStream: { write: (line: string) => { lines.push(line); } } });
  await svc.app.signingKeys.load();
  let calls = 0;
  svc.app.onRefusal(() => { calls++; throw new Error('a refusal listener failed'); });
  const unhandled: unknown[] = [];
  const keep = (reason: unknown) => { unhandled.push(reason); };
  process.on('unhandledRejection', keep);
  t.teardown(() => { process.off('unhandledRejection', keep); });

  const noToken = await svc.app.inject({ url: '/api/token' });
  t.equal(noToken.statusCode, 401, 'no token, refused at once: 401');
  t.equal(calls, 1, 'the failing listener ran once');

  await sleep(1100);
  calls = 0;
  const madeUpKid = await svc.app.inject({ url: '/api/token', headers: { authorization: `Bearer ${svc.userToken({ header: { kid: randomUUID() } })}` } });
  await sleep(100);
  t.equal(madeUpKid.statusCode, 401, `a kid that needs the key set read first: 401 (${madeUpKid.body})`);
  t.match(madeUpKid.headers['content-type'], /^application\/problem\+json/, 'as a problem');
  t.equal(calls, 1, 'the failing listener ran once, not once more for the failure');
  t.same(unhandled, [], 'no unhandled rejection');

  const valid = await svc.app.inject({ url: '/api/user', headers: { authorization: `Bearer ${svc.userToken()}` } });
  t.equal(valid.statusCode, 404, `the service still answers a valid token (${valid.body})`);
  t.ok(lines.filter((line) => line.includes('refusal listener failed')).length === 3, `each failure is logged, the 404's too (a refusal as well) (${lines.filter((line) => line.includes('refusal listener failed')).length} of ${lines.length} lines)`);
});
