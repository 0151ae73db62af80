// Local mode's logs are readable lines (pino-pretty), with the same redaction as the JSON lines
// of every other mode; pino-pretty is loaded only in local mode.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildApp } from '../src/app.js';
import { LOG_CENSOR } from '../src/http/logRedaction.js';
import { prettyLogStream } from '../src/local/localLogs.js';
import { startLocalEnvironment } from '../src/local/localMode.js';
import { moduleHooksNodeOptions } from './helpers/moduleHooks.js';
import { startServiceProcess } from './helpers/serviceProcess.js';

// Starts a service process, which transpiles src/ with tsx before it listens: a time budget of
// its own (README, Tests).
t.setTimeout(240_000);

const isJson = (line: string) => {
  try { JSON.parse(line); return true; } catch { return false; }
};

t.test('in-process: the app\'s logger through the local stream, credentials censored on readable lines', async (t) => {
  const local = await startLocalEnvironment({ PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'trace' });
  const lines: string[] = [];
  const app = await buildApp(local.config, { localTokenIssuer: local.entra, logStream: prettyLogStream({ write: (line) => { lines.push(line); } }, { colorize: false }) });
  await app.ready();
  t.teardown(async () => { await app.close(); await local.close(); });

  const userToken = JSON.parse((await app.inject({ url: '/local/token?user=alice' })).body).token as string;
  const teamsToken = JSON.parse((await app.inject({ url: '/local/token?user=alice&teams=true' })).body).token as string;
  const issued = await app.inject({ url: '/api/token', headers: { authorization: `Bearer ${userToken}`, 'teams-user-aad-token': teamsToken, 'x-request-id': 'pretty-1' } });
  t.equal(issued.statusCode, 200);
  const acsToken = JSON.parse(issued.body).token as string;
  t.equal((await app.inject({ url: '/api/token', headers: { authorization: `Bearer ${userToken}x`, 'x-request-id': 'pretty-2' } })).statusCode, 401);
  app.log.info({
    token: 'secret-top', issued: { token: 'secret-nested', expiresOn: 'soon' },
    headers: { authorization: 'Bearer secret-headers', 'teams-user-aad-token': 'secret-headers-teams' },
  }, 'censoring check');

  const text = lines.join('');
  t.ok(lines.length >= 3 && lines.every((line) => !isJson(line)), `${lines.length} lines, none of them JSON`);
  t.match(text, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(\d+\): request \{.*"reqId":"pretty-1".*"route":"\/api\/token".*"status":200/m, 'a request on one readable line');
  t.match(text, /INFO \(\d+\): request \{.*"reqId":"pretty-2".*"status":401.*"code":"invalid_token"/, 'a refusal with its code');
  for (const [name, secret] of [['user token', userToken], ['Teams token', teamsToken], ['ACS token', acsToken]] as const) {
    for (const part of secret.split('.')) t.notOk(text.includes(part), `no part of the ${name}`);
  }
  t.notOk(/secret-/.test(text), 'no credential a log call included');
  const check = text.split('\n').find((line) => line.includes('censoring check'));
  t.ok(check?.includes(`"authorization":"${LOG_CENSOR}"`) && check.includes(`"issued":{"token":"${LOG_CENSOR}"`), `censored where they were: ${check}`);
});

t.test('npm run dev / npm start in local mode: readable lines on standard output, pino-pretty loaded', async (t) => {
  const logFile = join(t.testdir({}), 'modules.txt');
  const service = await startServiceProcess(t, { PGLITE_DATA_DIR: 'memory://', NODE_OPTIONS: moduleHooksNodeOptions({ logFile }) });
  t.ok(service.url, `listening\n${service.output().stdout}${service.output().stderr}`);
  if (!service.url) return;
  const userToken = ((await (await fetch(`${service.url}/local/token?user=alice`)).json()) as { token: string }).token;
  const answer = await fetch(`${service.url}/api/token`, { headers: { authorization: `Bearer ${userToken}`, 'x-request-id': 'pretty-process' } });
  t.equal(answer.status, 200);
  const acsToken = ((await answer.json()) as { token: string }).token;
  service.kill('SIGTERM');
  t.equal(await service.exited, 0, 'clean exit on SIGTERM');

  const { stdout } = service.output();
  const logLines = stdout.split('\n').filter((line) => /^\[\d\d:\d\d:\d\d\.\d{3}\] [A-Z]+ \(\d+\): /.test(line));
  t.ok(logLines.some((line) => /INFO \(\d+\): Server listening at http:\/\/127\.0\.0\.1:\d+/.test(line)), 'the listening line, readable');
  t.ok(logLines.some((line) => /request \{.*"reqId":"pretty-process".*"status":200/.test(line)), 'the request line, readable');
  t.ok(logLines.some((line) => /closing \{.*"signal":"SIGTERM"/.test(line)), 'the closing line');
  t.notOk(stdout.split('\n').some((line) => line.startsWith('{') && isJson(line)), 'no JSON line');
  for (const part of [...userToken.split('.'), ...acsToken.split('.')]) t.notOk(stdout.includes(part), 'no part of a token');
  t.ok(readFileSync(logFile, 'utf8').split('\n').some((url) => url.includes('/node_modules/pino-pretty/')),
    'the hooks see pino-pretty load in local mode (so the production check in processes.test.ts can fail)');
});
