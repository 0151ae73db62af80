// `npm run startup:profile`: how long the built service takes from its process's start to its
// first 200 on /readyz, and how much memory it holds once idle, each against a bare Fastify
// process started the same way (interleaved: bare, service, bare, service…; medians printed).
// Then one more start under `node --cpu-prof`: the packages and modules whose loading (their
// top-level code and everything it ran) took the most CPU before /readyz answered.
// Production settings (NODE_ENV=production, dist/src/server.js) against a fresh database on the
// PostgreSQL server (STARTUP_DATABASE_URL's server) and the emulators of Entra ID (TLS, with a
// client secret: on-behalf-of mode) and ACS, in this process.
//   STARTUP_RUNS (5) starts of each, STARTUP_IDLE_MS (2000) idle time before RSS is read,
//   STARTUP_TOP (15) lines per top list, --no-build to use dist/ as it is,
//   STARTUP_SERVER (dist/src/server.js) the build to measure, STARTUP_COMPARE another build's
//   entry point, started in turn with the two others (say, a copy of dist/ from before a change).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startAcsEmulator } from '../emulators/acsEmulator.js';
import { startEntraEmulator } from '../emulators/entraEmulator.js';
import { projectFile } from '../src/projectFiles.js';
import { createMigratedDatabase } from '../test/helpers/migratedDatabase.js';
import { testServiceEnv } from '../test/helpers/testServiceEnv.js';
import { median, moduleLoadTimes, type CpuProfile } from './startupProfileSummary.js';

const RUNS = Number(process.env.STARTUP_RUNS ?? 5);
const IDLE_MS = Number(process.env.STARTUP_IDLE_MS ?? 2000);
const TOP = Number(process.env.STARTUP_TOP ?? 15);
const ADMIN_URL = process.env.STARTUP_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BARE_FASTIFY = [
  '--input-type=module', '-e',
  "import Fastify from 'fastify'; const app = Fastify({ logger: false }); app.get('/readyz', async () => ({ status: 'ready' })); await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });",
];

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Resident memory of a process, in MiB (Linux /proc). */
function rssMib(pid: number): number {
  const kib = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kib / 1024;
}

interface Start { readyMs: number; rssMib: number }

/** Starts `args` with `env`, times its first 200 on /readyz, reads its RSS once idle, stops it. */
async function timeStart(args: string[], env: Record<string, string>): Promise<Start> {
  const port = await freePort();
  const began = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, { cwd: projectFile(), env: { PATH: process.env.PATH, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited ${child.exitCode}: ${stderr}`);
      const status = await fetch(`http://127.0.0.1:${port}/readyz`).then((response) => response.status, () => 0);
      if (status === 200) break;
      if (performance.now() - began > 60_000) throw new Error(`${args.join(' ')}: no 200 on /readyz within 60 s: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const readyMs = performance.now() - began;
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    return { readyMs, rssMib: rssMib(child.pid!) };
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
}

async function main() {
  if (!process.argv.includes('--no-build')) execFileSync('npm', ['run', '-s', 'build'], { cwd: projectFile(), stdio: 'inherit' });

  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const dbName = `acs_startup_${randomBytes(4).toString('hex')}`;
  const dbUrl = await createMigratedDatabase(admin, ADMIN_URL, dbName);

  const entra = await startEntraEmulator({ tls: true });
  const acs = await startAcsEmulator();
  const scratch = mkdtempSync(join(tmpdir(), 'acs-startup-'));
  const caFile = join(scratch, 'authority-ca.pem');
  writeFileSync(caFile, entra.caCertificate!);
  const serviceEnv = {
    NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'info',
    ...testServiceEnv({ entra, acs, database: { url: dbUrl.toString() }, shedLoad: true }),
    AZURE_CLIENT_SECRET: entra.clientSecret, AZURE_AUTHORITY_CA_FILE: caFile,
    AUDIT_HASH_KEY: randomBytes(24).toString('base64'), METRICS_TOKEN: 'startup-metrics-token-0123',
  };
  const service = [process.env.STARTUP_SERVER ?? projectFile('dist', 'src', 'server.js')];

  try {
    const bare: Start[] = [];
    const ours: Start[] = [];
    const compared: Start[] = [];
    const compare = process.env.STARTUP_COMPARE;
    for (let i = 0; i < RUNS; i++) {
      bare.push(await timeStart(BARE_FASTIFY, { NODE_ENV: 'production' }));
      if (compare) compared.push(await timeStart([compare], serviceEnv));
      ours.push(await timeStart(service, serviceEnv));
    }
    const row = (name: string, starts: Start[]) => {
      const ready = median(starts.map((start) => start.readyMs));
      const rss = median(starts.map((start) => start.rssMib));
      return { name, ready, rss, line: `${name.padEnd(14)} ${ready.toFixed(0).padStart(6)} ms ${rss.toFixed(1).padStart(8)} MiB   (ready: ${starts.map((start) => start.readyMs.toFixed(0)).join(', ')})` };
    };
    const floor = row('bare Fastify', bare);
    const measured = row('service', ours);
    process.stdout.write(`\nMedians of ${RUNS} starts each, time to the first 200 on /readyz and RSS after ${IDLE_MS} ms idle:\n`);
    process.stdout.write(`${floor.line}\n${measured.line}\n`);
    process.stdout.write(`ratio          ${(measured.ready / floor.ready).toFixed(2).padStart(6)} x  ${(measured.rss / floor.rss).toFixed(2).padStart(8)} x\n`);
    if (compare) {
      const other = row('compared', compared);
      process.stdout.write(`${other.line}\nratio          ${(other.ready / floor.ready).toFixed(2).padStart(6)} x  ${(other.rss / floor.rss).toFixed(2).padStart(8)} x   (${compare})\n`);
    }

    // One more start under the profiler (slower than the ones above: the figures are shares).
    const profileDir = join(scratch, 'profiles');
    const profiled = await timeStart(['--cpu-prof', `--cpu-prof-dir=${profileDir}`, ...service], serviceEnv);
    const file = join(profileDir, readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'))!);
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const loads = moduleLoadTimes(profile, profiled.readyMs);
    const list = (title: string, entries: [string, number][]) => {
      process.stdout.write(`\n${title}\n`);
      for (const [name, ms] of entries.slice(0, TOP)) process.stdout.write(`${ms.toFixed(0).padStart(6)} ms  ${name}\n`);
    };
    process.stdout.write(`\nUnder --cpu-prof: first 200 on /readyz after ${profiled.readyMs.toFixed(0)} ms; ${loads.busyMs.toFixed(0)} ms of CPU before it, ${loads.loadingMs.toFixed(0)} ms of it loading modules.\n`);
    list('CPU before /readyz by package, self time (V8\'s own in parentheses):', loads.selfByPackage);
    list('Packages by load time (their modules\' top-level code, with what it ran):', loads.byPackage);
    list('Modules by load time (inclusive: a module\'s time contains that of the modules it required):', loads.byModule);
  } finally {
    await entra.close();
    await acs.close();
    if (process.env.STARTUP_KEEP_PROFILE) process.stdout.write(`\nKept: ${scratch}\n`);
    else rmSync(scratch, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
