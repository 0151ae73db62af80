// Local mode as a newcomer meets it: `npm start` in a fresh copy of the project, with a .env
// copied from .env.example, no DATABASE_URL and no Azure settings. The test runs the banner's own commands, restarts the
// service to check that the user's identity survived, and stops it with SIGTERM. It also runs `npm run -s token` as a
// newcomer gets it wrong: an unknown option, no service on the port, no --port (the port is .env's).
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { PROJECT_ROOT } from '../src/projectFiles.js';

t.setTimeout(420_000);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// A copy of what a clone holds (node_modules linked, not copied).
const folder = t.testdir({});
for (const item of ['src', 'emulators', 'scripts', 'demo', 'migrations', 'openapi.yaml', 'package.json', 'tsconfig.json', 'tsconfig.build.json', '.env.example']) {
  cpSync(join(PROJECT_ROOT, item), join(folder, item), { recursive: true });
}
symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(folder, 'node_modules'));
const port = await freePort();
// The newcomer's .env: .env.example as it is, but for the port (so the test proves .env is read).
writeFileSync(join(folder, '.env'), readFileSync(join(folder, '.env.example'), 'utf8').replace(/^PORT=3000$/m, `PORT=${port}`));
const env = {
  PATH: process.env.PATH!,
  HOME: process.env.HOME ?? folder,
  // tap would record the child's coverage, garbled by tsc's different output: none.
  _TAPJS_PROCESSINFO_COVERAGE_: '0',
};

/** Runs `npm start` until the banner shows; returns the process and the banner's commands. */
async function npmStart() {
  const child = spawn('npm', ['start'], { cwd: folder, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  // `npm start` builds first: on a busy machine (CI runs two test files at once) that alone can
  // take a minute.
  for (let i = 0; i < 1500 && !stdout.includes('Try it:'); i++) {
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const commands = /Try it:\n((?: {4}.+\n)+)/.exec(stdout)?.[1]?.split('\n').map((line) => line.trim()).filter(Boolean);
  // SIGTERM goes to the service's own process (what Kubernetes signals; npm passes on its
  // exit code). Its pid is on every log line, readable in local mode: `[12:00:00.000] INFO (pid): …`.
  const servicePid = Number(/^\[[\d:.]+\] [A-Z]+ \((\d+)\): /m.exec(stdout)?.[1]);
  const stop = () => process.kill(servicePid, 'SIGTERM');
  const kill = () => {
    for (const pid of [servicePid, child.pid]) {
      try { if (pid) process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  };
  return { child, exited, commands, stop, kill, output: () => stdout + stderr };
}

async function runBannerCommands(commands: string[]): Promise<any> {
  const { stdout } = await promisify(execFile)('bash', ['-c', commands.join('\n')], { cwd: folder, env });
  return JSON.parse(stdout);
}

/** Runs `npm run -s token -- …` in the project's copy (whose .env sets PORT), as a reader would. */
async function tokenScript(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('npm', ['run', '-s', 'token', '--', ...args], { cwd: folder, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

t.test('npm run -s token: a wrong option, and no service on the port', async (t) => {
  const wrong = await tokenScript('--users', 'alice');
  t.equal(wrong.code, 1, 'an unknown option: exit 1');
  t.equal(wrong.stderr.trim().split('\n').length, 1, `one line: ${wrong.stderr}`);
  t.match(wrong.stderr, /--users/, 'names the option');
  t.match(wrong.stderr, /--user\b.*--tenant.*--teams.*--oidc.*--port/, 'and the accepted ones');
  t.notMatch(wrong.stderr, /TypeError|ERR_PARSE_ARGS|\n\s+at /, 'no stack');
  t.equal(wrong.stdout, '');

  // Nothing listens yet: the port is .env's (PORT is not in the environment), and the message
  // names both ways out.
  const none = await tokenScript('--user', 'alice');
  t.equal(none.code, 1);
  t.match(none.stderr, new RegExp(`No service answers on port ${port}\\b`), 'the port from ./.env');
  t.match(none.stderr, /npm start/);
  t.match(none.stderr, /--port N/, 'a service on another port: --port');
});

t.test('npm start, the banner\'s commands, a restart, and SIGTERM', async (t) => {
  // Whatever happens, no service is left running.
  const started: Array<{ kill(): void }> = [];
  t.teardown(() => { for (const run of started) run.kill(); });
  const first = await npmStart();
  started.push(first);
  t.ok(first.commands, `the banner shows commands:\n${first.output().slice(-2000)}`);
  if (!first.commands) return;
  t.match(first.output(), /LOCAL MODE/);
  t.match(first.output(), /embedded PostgreSQL \(PGlite\), data in .*\.data/);
  t.same(first.commands.length, 2);
  t.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200, 'ready');
  t.match(first.output(), new RegExp(`Demo page +http://localhost:${port}/demo/`));
  const demoPage = await fetch(`http://127.0.0.1:${port}/demo/`);
  t.equal(demoPage.status, 200, 'npm start built and serves the demo page');
  // Read whole: a client that leaves a large body unread keeps its connection busy, and the
  // service's shutdown would then wait for it (up to its in-flight grace).
  const demoScript = await fetch(`http://127.0.0.1:${port}/demo/app.js`);
  t.equal(demoScript.status, 200);
  t.ok((await demoScript.text()).length > 1000, 'the bundled script');

  const answer = await runBannerCommands(first.commands);
  t.match(answer, { token: String, expiresOn: String, user: { communicationUserId: /^8:acs:/ } }, 'the curl got an ACS token');
  const identity = answer.user.communicationUserId as string;
  // Without --port, the script finds the service on the port that ./.env gives both.
  const fromEnvFile = await tokenScript('--user', 'alice');
  t.equal(fromEnvFile.code, 0, `a token without --port: ${fromEnvFile.stderr}`);
  t.match(fromEnvFile.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'a token, and nothing else');
  t.ok(existsSync(join(folder, '.data', 'pglite')), 'data kept in .data/');

  first.stop();
  t.equal(await first.exited, 0, 'clean exit on SIGTERM', { output: first.output().slice(-3000) });
  t.match(first.output(), /INFO \(\d+\): closing \{.*"signal":"SIGTERM"/);
  // The emulators and the embedded database close after the app: its last audit flush lands.
  t.notMatch(first.output(), /^\[[\d:.]+\] (WARN|ERROR|FATAL) /m, 'no warning or error, closing included');

  const second = await npmStart();
  started.push(second);
  t.ok(second.commands, 'restarted');
  if (!second.commands) return;
  const again = await runBannerCommands(second.commands);
  t.equal(again.user.communicationUserId, identity, 'alice kept her identity across the restart');
  const bob = await runBannerCommands(second.commands.map((line) => line.replace('--user alice', '--user bob')));
  t.not(bob.user.communicationUserId, identity, 'another name is another user');

  second.stop();
  t.equal(await second.exited, 0, 'clean exit again', { output: second.output().slice(-3000) });
});
