// Logs: a request id on every line of a request and in its answer; tokens and credential
// headers never appear, whatever the log level.
import t from 'tap';
import { startTestService } from './helpers/testService.js';

const lines: string[] = [];
const svc = await startTestService(t, { LOG_LEVEL: 'trace' }, { logStream: { write: (line) => { lines.push(line); } } });

t.test('no token, no credential header, and a request id everywhere', async (t) => {
  const objectId = '5d7c2a1e-8b4f-4c3a-9e2d-1f0a6b7c8d9e';
  const userToken = svc.userToken({ objectId });
  const teamsToken = svc.userToken({ scope: 'Teams.ManageCalls' });
  const answers = [
    await svc.request({ url: '/api/token', token: userToken, headers: { 'teams-user-aad-token': teamsToken, 'x-request-id': 'log-test-1' } }),
    await svc.request({ url: '/api/token', token: `${userToken}x`, headers: { 'x-request-id': 'log-test-2' } }),
    await svc.request({ method: 'POST', url: '/api/token/revoke', token: userToken, headers: { 'x-request-id': 'log-test-3' } }),
  ];
  t.same(answers.map((a) => a.statusCode), [200, 401, 204]);
  const acsToken: string = answers[0]!.json.token;

  const log = lines.join('');
  t.ok(lines.length >= 3, `${lines.length} log lines`);
  t.notOk(log.includes(objectId), 'the user appears only as a hash, never by oid');
  for (const [name, secret] of [['user token', userToken], ['Teams token', teamsToken], ['ACS token', acsToken]] as const) {
    // Any long piece of a token (its signature, its payload) would do; check all three parts.
    for (const part of secret.split('.')) t.notOk(log.includes(part), `no part of the ${name} in the logs`);
  }
  const entries = lines.map((line) => JSON.parse(line));
  for (const [id, status, withUser] of [['log-test-1', 200, true], ['log-test-2', 401, false], ['log-test-3', 204, true]] as const) {
    const requestLines = entries.filter((entry) => entry.reqId === id && entry.msg === 'request');
    t.equal(requestLines.length, 1, `${id}: one line for the request`);
    t.match(requestLines[0], { method: String, route: String, status, ms: Number }, `${id}: route, status, latency`);
    t.equal(typeof requestLines[0]?.user, withUser ? 'string' : 'undefined', `${id}: the caller as a hash when known`);
  }
  t.same(answers.map((a) => a.headers['x-request-id']), ['log-test-1', 'log-test-2', 'log-test-3']);
});
