// The Dockerfile, performed without a Docker engine: its instructions are read and carried out
// stage by stage in a clean temporary folder (each stage's filesystem a folder of its own;
// COPY from the build context honours .dockerignore, COPY --from copies between stages, RUN
// runs in the stage's WORKDIR), then the final stage is started as the image would start it:
// migrations with the migration Job's command, the server with CMD, against the test
// database and the emulators, in production mode. So the file is not untested text.
import { execSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import t from 'tap';
import { startAcsEmulator } from '../src/emulators/acsEmulator.js';
import { startEntraEmulator } from '../src/emulators/entraEmulator.js';
import { projectFile } from '../src/projectFiles.js';
import { createTestDatabase } from './helpers/testDatabase.js';
import { emulatorEnv, startServiceProcess } from './helpers/serviceProcess.js';

// Two `npm ci` and a build: longer than the other files' limit.
t.setTimeout(15 * 60 * 1000);

interface Stage { name: string; root: string; workdir: string; env: Record<string, string>; user?: string; cmd?: string[]; exposed: string[] }

/** The Dockerfile's instructions, one per entry (continuation lines joined, comments dropped). */
function instructions(text: string): Array<{ keyword: string; args: string }> {
  return text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'))
    .map((line) => { const [keyword, ...rest] = line.split(/\s+/); return { keyword: keyword!.toUpperCase(), args: rest.join(' ') }; });
}

/** A .dockerignore pattern as a regular expression (`*` within a segment, `**` across them). */
function globToRegExp(glob: string): RegExp {
  const source = glob.split(/(\*\*\/?|\*)/).map((part) =>
    part.startsWith('**') ? '(?:.*/)?' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('');
  return new RegExp(`^${source}$`);
}
const matchesGlob = (path: string, glob: string) => globToRegExp(glob).test(path);

/** Whether .dockerignore keeps `path` (relative to the context) out of the build context. */
function ignored(path: string, patterns: string[]): boolean {
  let result = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = (negated ? pattern.slice(1) : pattern).replace(/\/$/, '');
    // A pattern that names a folder covers what is inside it, as Docker's matching does.
    const segments = path.split('/');
    if (segments.some((_, i) => matchesGlob(segments.slice(0, i + 1).join('/'), glob))) result = !negated;
  }
  return result;
}

/** Every file under `dir` with its size and mtime, to see that running wrote nothing. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => { const path = join(entry.parentPath, entry.name); const stat = statSync(path); return `${relative(dir, path)} ${stat.size} ${stat.mtimeMs}`; })
    .sort();
}

t.test('the Dockerfile builds and runs: multi-stage, production dependencies only, non-root, writes nothing', async (t) => {
  const dockerfile = readFileSync(projectFile('Dockerfile'), 'utf8');
  const ignorePatterns = readFileSync(projectFile('.dockerignore'), 'utf8').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const work = mkdtempSync(join(tmpdir(), 'acs-image-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));

  const stages: Stage[] = [];
  const inStage = (stage: Stage, path: string) => join(stage.root, isAbsolute(path) ? path : join(stage.workdir, path));
  for (const { keyword, args } of instructions(dockerfile)) {
    const stage = stages.at(-1)!;
    switch (keyword) {
      case 'FROM': {
        const [image, as, name] = args.split(/\s+/);
        t.ok(image, `stage ${name ?? stages.length} from ${image}`);
        stages.push({ name: as?.toUpperCase() === 'AS' ? name! : String(stages.length), root: join(work, `stage-${stages.length}`), workdir: '/', env: {}, exposed: [] });
        break;
      }
      case 'WORKDIR':
        stage.workdir = args;
        mkdirSync(inStage(stage, '.'), { recursive: true });
        break;
      case 'ENV':
        for (const [, key, value] of args.matchAll(/(\w+)=(\S+)/g)) stage.env[key!] = value!;
        break;
      case 'COPY': {
        const from = /^--from=(\S+)\s+/.exec(args);
        const parts = args.replace(/^--from=\S+\s+/, '').split(/\s+/);
        const destination = parts.pop()!;
        for (const source of parts) {
          let origin: string;
          if (from) {
            const source_stage = stages.find((s) => s.name === from[1]);
            t.ok(source_stage, `COPY --from=${from[1]} names an earlier stage`);
            origin = join(source_stage!.root, source);
          } else {
            t.notOk(ignored(source, ignorePatterns), `${source} is in the build context (.dockerignore)`);
            origin = projectFile(source);
          }
          t.ok(existsSync(origin), `${source} exists`);
          const target = destination.endsWith('/') || parts.length > 1 ? join(inStage(stage, destination), source.split('/').pop()!) : inStage(stage, destination);
          mkdirSync(dirname(target), { recursive: true });
          // From the context, only what .dockerignore lets in (no .env, no tests, no build output).
          cpSync(origin, target, { recursive: true, filter: (path) => from !== null || !ignored(relative(projectFile(), path), ignorePatterns) || path === origin });
        }
        break;
      }
      case 'RUN':
        execSync(args, { cwd: inStage(stage, '.'), stdio: 'pipe', env: { PATH: process.env.PATH, HOME: process.env.HOME, ...stage.env } });
        t.pass(`RUN ${args}`);
        break;
      case 'USER':
        stage.user = args;
        break;
      case 'EXPOSE':
        stage.exposed.push(args);
        break;
      case 'CMD':
        stage.cmd = JSON.parse(args) as string[];
        break;
      default:
        t.fail(`${keyword} is not carried out by this test: teach it, or keep the Dockerfile to FROM, WORKDIR, ENV, COPY, RUN, USER, EXPOSE, CMD`);
    }
  }

  const image = stages.at(-1)!;
  t.ok(stages.length >= 2, 'multi-stage');
  t.match(dockerfile, /^FROM \S*(node:24|nodejs24)\S*/m, 'Node.js 24 LTS');
  t.match(dockerfile, /^FROM \S*(distroless|slim)\S*\s*$/m, 'the runtime image is distroless or slim');
  t.equal(image.env.NODE_ENV, 'production');
  t.ok(image.user && !/^(root|0)(:|$)/.test(image.user), `runs as ${image.user}, not root`);
  t.same(image.exposed, ['3000', '8081'], 'the API port and the probe port');
  const app = inStage(image, '.');
  t.ok(existsSync(join(app, 'dist', 'src', 'server.js')), 'the built server');
  t.ok(existsSync(join(app, 'node_modules', 'fastify')), 'production dependencies');
  for (const dev of ['typescript', 'tap', 'tsx', '@redocly/cli', 'autocannon']) t.notOk(existsSync(join(app, 'node_modules', dev)), `no dev dependency ${dev}`);
  for (const secret of ['.env', '.data', 'test', 'src']) t.notOk(existsSync(join(app, secret)), `no ${secret} in the image`);

  const [entra, acs, database] = await Promise.all([startEntraEmulator(), startAcsEmulator(), createTestDatabase({ migrated: false })]);
  t.teardown(async () => { await Promise.all([entra.close(), acs.close()]); await database.drop(); });
  const before = snapshot(app);

  // The migration Job's command (deploy/kubernetes), then the server as CMD starts it.
  const migrated = await startServiceProcess(t, { ...image.env, DATABASE_URL: database.url }, 'dist/src/db/migrateCli.js', { cwd: app });
  t.equal(await migrated.exited, 0, migrated.output().stderr);
  t.match(migrated.output().stdout, /Applied: 001_identities\.sql/);

  const service = await startServiceProcess(t, {
    ...image.env,
    ...emulatorEnv({ entra, acs, databaseUrl: database.url }),
    AUDIT_HASH_KEY: 'an-audit-key-for-the-image-test',
    METRICS_TOKEN: 'a-metrics-token-for-the-image',
  }, image.cmd![0]!, { cwd: app });
  t.ok(service.url, `listening: ${service.output().stderr}`);
  t.equal((await fetch(`${service.url}/readyz`)).status, 200, '/readyz 200');
  const answer = await fetch(`${service.url}/api/token`, { headers: { authorization: `Bearer ${entra.mintAccessToken()}` } });
  t.equal(answer.status, 200, 'a token, end to end');
  service.kill('SIGTERM');
  t.equal(await service.exited, 0, 'stops cleanly on SIGTERM');

  t.same(snapshot(app), before, 'nothing was written to the image\'s files (a read-only root filesystem is fine)');
});
