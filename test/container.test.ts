// The image, built and run by a real Docker engine: `docker build` of the Dockerfile (with the
// stand-in base images of scripts/dockerEngine.sh, which also starts a private engine when none
// answers), then the migration command and the service run as Kubernetes runs them — read-only
// root filesystem, every capability dropped, no privilege escalation, user 65532 — against the
// test database and the emulators on the host's network: a token, then SIGTERM and a clean
// exit within the grace period. The engine needs root: where it cannot start, this file fails
// and says why. CONTAINER_TEST=skip skips it (.ci/run's second and third passes: once a run).
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import { startAcsEmulator } from '../emulators/acsEmulator.js';
import { startEntraEmulator } from '../emulators/entraEmulator.js';
import { projectFile } from '../src/projectFiles.js';
import { freePort } from './helpers/freePort.js';
import { createTestDatabase } from './helpers/testDatabase.js';
import { testServiceEnv } from './helpers/testServiceEnv.js';

// Building the stand-ins (first run on a machine) and the image: longer than other files.
t.setTimeout(20 * 60 * 1000);

const run = promisify(execFile);
const GRACE_SECONDS = 30;
const HARDENED = ['--network', 'host', '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'];


if (process.env.CONTAINER_TEST === 'skip') {
  t.comment('skipped: CONTAINER_TEST=skip (the image is built and run once per CI run)');
} else {
  t.test('the image builds, and runs read-only, unprivileged, as 65532: migrations, a token, a clean stop', async (t) => {
    let engine: Record<string, string>;
    try {
      const output = execFileSync('bash', [projectFile('scripts', 'dockerEngine.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      engine = Object.fromEntries(output.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
    } catch (error) {
      const { stderr } = error as { stderr?: string };
      t.fail(`the Docker engine could not start: ${stderr?.trim() || String(error)} (CONTAINER_TEST=skip skips this test)`);
      return;
    }
    if (engine.STARTED === 'yes') t.teardown(() => { execFileSync('bash', [projectFile('scripts', 'dockerEngine.sh'), 'stop']); });
    const env = { ...process.env, DOCKER_HOST: engine.DOCKER_HOST };
    const docker = (...args: string[]) => run('docker', args, { env, maxBuffer: 64 * 1024 * 1024 });
    const tag = `acs-token-service:test-${process.pid}`;

    await docker('build', '--network', 'host', '--build-arg', `BUILD_IMAGE=${engine.BUILD_IMAGE}`, '--build-arg', `RUNTIME_IMAGE=${engine.RUNTIME_IMAGE}`, '-t', tag, projectFile());
    // The stages' images too (vfs keeps a full copy of every layer): nothing left but the stand-ins.
    t.teardown(async () => { await docker('rmi', '-f', tag).catch(() => undefined); await docker('image', 'prune', '-f').catch(() => undefined); });
    const [inspected] = JSON.parse((await docker('image', 'inspect', tag)).stdout) as Array<{ Size: number; Config: { User: string; Env: string[]; ExposedPorts: Record<string, unknown>; Cmd: string[] } }>;
    t.equal(inspected!.Config.User, '65532:65532', 'the image\'s user is 65532');
    t.ok(inspected!.Config.Env.includes('NODE_ENV=production'), 'NODE_ENV=production');
    t.same(Object.keys(inspected!.Config.ExposedPorts).sort(), ['3000/tcp', '8081/tcp'], 'the API port and the probe port');
    t.same(inspected!.Config.Cmd, ['--import', './dist/src/telemetry/bootstrap.js', 'dist/src/server.js']);

    // What is inside /app, read by the image's own node (it has no shell).
    const inside = JSON.parse((await docker('run', '--rm', '--network', 'none', tag, '-e', `
      const { readdirSync, statSync } = require('node:fs');
      const size = (path) => statSync(path).isDirectory() ? readdirSync(path).reduce((sum, name) => sum + size(path + '/' + name), 0) : statSync(path).size;
      const packages = readdirSync('node_modules').flatMap((name) => name.startsWith('@') ? readdirSync('node_modules/' + name).map((sub) => name + '/' + sub) : [name]);
      console.log(JSON.stringify({ app: readdirSync('.'), dist: readdirSync('dist'), distSrc: readdirSync('dist/src'), packages, bytes: size('node_modules') }));`)).stdout) as { app: string[]; dist: string[]; distSrc: string[]; packages: string[]; bytes: number };
    t.same(inside.app.sort(), ['dist', 'migrations', 'node_modules', 'openapi.yaml', 'package.json'], 'only what the service needs: no src, test, .env or .data');
    t.notOk(inside.dist.includes('emulators') || inside.distSrc.includes('local'), 'no local mode: neither its emulators nor src/local');
    // What package-lock.json marks dev-only: no production dependency needs it.
    const lock = JSON.parse(readFileSync(projectFile('package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, entry]) => entry.dev && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path)).map(([path]) => path.slice('node_modules/'.length));
    t.ok(devOnly.includes('tap') && devOnly.includes('typescript'), `${devOnly.length} dev-only packages in the lock, the test tools among them`);
    t.same(devOnly.filter((name) => inside.packages.includes(name)), [], 'no development dependency in the image');
    t.ok(inside.packages.includes('fastify'), 'the production dependencies are');
    t.comment(`image ${(inspected!.Size / 1e6).toFixed(0)} MB (stand-in base images), production node_modules ${(inside.bytes / 1e6).toFixed(0)} MB`);

    const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase({ migrated: false })]);
    t.teardown(async () => { await Promise.all([entra.close(), acs.close()]); await database.drop(); });

    const migrated = await docker('run', '--rm', ...HARDENED, '-e', `DATABASE_URL=${database.url}`, tag, 'dist/src/db/migrateCli.js');
    t.match(migrated.stdout, /Applied: 001_identities\.sql/, 'the migration command, as the migration Job runs it');

    const port = await freePort();
    const settings = { ...testServiceEnv({ entra, acs, database }), HOST: '127.0.0.1', PORT: String(port), AUDIT_HASH_KEY: 'an-audit-key-for-the-image-test', METRICS_TOKEN: 'a-metrics-token-for-the-image' };
    const name = `acs-token-service-test-${process.pid}`;
    await docker('run', '-d', '--name', name, ...HARDENED, ...Object.entries(settings).flatMap(([key, value]) => ['-e', `${key}=${value}`]), tag);
    t.teardown(() => docker('rm', '-f', name).catch(() => undefined));
    let ready = 0;
    for (let i = 0; i < 120 && ready !== 200; i++) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((response) => response.status, () => 0);
      if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    t.equal(ready, 200, '/readyz 200');
    const answer = await fetch(`http://127.0.0.1:${port}/api/token`, { headers: { authorization: `Bearer ${entra.mintAccessToken()}` } });
    t.equal(answer.status, 200, 'a token, end to end');
    t.equal((await docker('exec', name, '/nodejs/bin/node', '-e', 'console.log(process.getuid(), process.getgid())')).stdout.trim(), '65532 65532', 'the service runs as 65532');

    const stopping = performance.now();
    await docker('stop', '--time', String(GRACE_SECONDS), name);
    const seconds = (performance.now() - stopping) / 1000;
    const [state] = JSON.parse((await docker('inspect', name)).stdout) as Array<{ State: { ExitCode: number } }>;
    t.equal(state!.State.ExitCode, 0, `SIGTERM: a clean exit, in ${seconds.toFixed(1)} s`);
    t.ok(seconds < GRACE_SECONDS, 'within the grace period');
    if (state!.State.ExitCode !== 0) t.comment((await docker('logs', name)).stderr);
  });
}
