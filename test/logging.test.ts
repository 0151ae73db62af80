// Logs: a request id on every line of a request and in its answer; tokens and credential
// headers never appear, whatever the log level.
import t from 'tap';
import { startTestService } from './helpers/testService.js';

const lines: string[] = [];
const svc = await startTestService(t, { LOG_LEVEL: 'trace' }, { logStream: { write: (line) => { lines.push(line); } } });

t.test('no token, no credential header, and a request id everywhere', async (t) => {
  const userToken = svc.userToken();
  const teamsToken = svc.userToken({ scope: 'Teams.ManageCalls' });
  const answers = [
    await svc.request({ url: '/api/token', token: userToken, headers: { 'teams-user-aad-token': teamsToken, 'x-request-id': 'log-test-1' } }),
    await svc.request({ url: '/api/token', token: `${userToken}x`, headers: { 'x-request-id': 'log-test-2' } }),
    await svc.request({ method: 'POST', url: '/api/token/revoke', token: userToken, headers: { 'x-request-id': 'log-test-3' } }),
  ];
  t.same(answers.map((a) => a.statusCode), [200, 401, 204]);
  const acsToken: string = answers[0]!.json.token;

  const log = lines.join('');
  t.ok(lines.length > 5, `${lines.length} log lines`);
  for (const [name, secret] of [['user token', userToken], ['Teams token', teamsToken], ['ACS token', acsToken]] as const) {
    // Any long piece of a token (its signature, its payload) would do; check all three parts.
    for (const part of secret.split('.')) t.notOk(log.includes(part), `no part of the ${name} in the logs`);
  }
  for (const id of ['log-test-1', 'log-test-2', 'log-test-3']) {
    const ofRequest = lines.map((l) => JSON.parse(l)).filter((entry) => entry.reqId === id);
    t.ok(ofRequest.length >= 2, `${id}: request and response lines carry the id`);
  }
  t.same(answers.map((a) => a.headers['x-request-id']), ['log-test-1', 'log-test-2', 'log-test-3']);
});
