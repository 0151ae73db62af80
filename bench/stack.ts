// What the bench measures and against what: a database on the PostgreSQL server
// (BENCH_DATABASE_URL's), the Entra emulator in this process, the ACS emulator in its own
// process (ACS_LATENCY_MS), the floor server, and the built service in its own process with
// production settings, started as the image starts it (the telemetry bootstrap first).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { startEntraEmulator, type EntraEmulator } from '../emulators/entraEmulator.js';
import { projectFile } from '../src/projectFiles.js';
import { createMigratedDatabase } from '../test/helpers/migratedDatabase.js';
import { testServiceEnv } from '../test/helpers/testServiceEnv.js';
import { children, firstJsonLine, pids, startProcess } from './processes.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const METRICS_TOKEN = 'bench-metrics-token-0123';

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The V8 flags the image starts the service with (its NODE_OPTIONS): the bench measures the service as it ships. */
function imageNodeOptions(): string {
  const options = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(readFileSync(projectFile('Dockerfile'), 'utf8'))?.[1];
  if (options === undefined) throw new Error('the Dockerfile sets no NODE_OPTIONS');
  return options;
}

/**
 * The service's entry, as the image's CMD runs it: the telemetry bootstrap, then the server.
 * `dist`: another build's dist directory (BENCH_COMPARE_DIST); this checkout's by default.
 */
export const serviceEntry = (dist = projectFile('dist')) => ['--import', join(dist, 'src', 'telemetry', 'bootstrap.js'), join(dist, 'src', 'server.js')];

export interface Stack {
  entra: EntraEmulator;
  serviceUrl: string;
  floorUrl: string;
  /** The service's settings but PORT: what a second service process (cold starts) is given. */
  serviceEnv: Record<string, string>;
  servicePid: () => number;
  /**
   * Starts another service process named `name` with `env` added to the settings (from the build
   * in `dist`, if given; under `prefix`'s command, valgrind say, if given); returns its URL (its
   * pid is `pids.get(name)`).
   */
  startService: (name: string, env: Record<string, string>, options?: { dist?: string; prefix?: { command: string; args: string[] } }) => Promise<string>;
  /** Starts another floor server process named `name` (under `prefix`'s command, if given); returns its URL. */
  startFloor: (name: string, prefix?: { command: string; args: string[] }) => Promise<string>;
  acsCounters: () => Promise<Record<string, number>>;
  serviceMetric: (name: string) => Promise<number>;
  metricsText: () => Promise<string>;
  rssMb: () => Promise<number>;
  /** Statements the service sent to PostgreSQL (its own count: PostgreSQL's statistics lag). */
  queries: () => Promise<number>;
  stop: () => Promise<void>;
}

export async function startStack(): Promise<Stack> {
  process.stdout.write('Building the service (npm run build)…\n');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: projectFile(), stdio: 'inherit' });

  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  // Databases left by an interrupted run go first, but not those of a bench still running
  // (several may share the server): the name holds the process id of the bench that made it.
  const listed = await admin.query<{ datname: string }>(String.raw`SELECT datname FROM pg_database WHERE datname LIKE 'bench\_acs\_%' OR datname LIKE 'acs\_bench\_%'`);
  for (const { datname } of listed.rows) {
    const pid = /^bench_acs_(\d+)_/.exec(datname)?.[1];
    if (pid && isRunning(Number(pid))) continue;
    // Without FORCE: a database still in use (a bench on another host) refuses, and stays.
    await admin.query(`DROP DATABASE IF EXISTS ${datname}`).catch(() => undefined);
  }
  const dbName = `bench_acs_${process.pid}_${randomBytes(4).toString('hex')}`;
  const dbUrl = await createMigratedDatabase(admin, ADMIN_URL, dbName);

  // Over TLS, with a client secret: MSAL (on-behalf-of mode) refuses http:// authorities.
  const entra = await startEntraEmulator({ tls: true });
  const caFile = join(mkdtempSync(join(tmpdir(), 'acs-bench-ca-')), 'authority-ca.pem');
  writeFileSync(caFile, entra.caCertificate!);
  const tsx = ['--import', import.meta.resolve('tsx')];
  const acs = await startProcess('acs-emulator', [...tsx, projectFile('bench', 'acsEmulatorProcess.ts')], { ACS_LATENCY_MS: process.env.ACS_LATENCY_MS ?? '0' }, firstJsonLine<{ connectionString: string; countersUrl: string }>);
  const startFloor = async (name: string, prefix?: { command: string; args: string[] }) => (await startProcess(name, [...tsx, projectFile('bench', 'floorServer.ts')], {
    BENCH_PUBLIC_KEY: entra.signingKey.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  }, firstJsonLine<{ url: string }>, prefix)).url;
  const floorUrl = await startFloor('floor');
  // BENCH_CPU_PROF=1: the service writes a V8 CPU profile to bench/profiles/ when it stops.
  const profile = process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${projectFile('bench', 'profiles')}`] : [];
  // SIGURG (nothing else handles it) makes the service collect garbage: heap figures are then
  // what stays alive.
  const gcOnSignal = ['--expose-gc', '--import', 'data:text/javascript,process.on("SIGURG",()=>globalThis.gc())'];
  const serviceEnv = {
    NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'info',
    ...testServiceEnv({ entra, acs, database: { url: dbUrl.toString() }, shedLoad: true }),
    AZURE_CLIENT_SECRET: entra.clientSecret, AZURE_AUTHORITY_CA_FILE: caFile,
    AUDIT_HASH_KEY: randomBytes(24).toString('base64'), METRICS_TOKEN,
    NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? imageNodeOptions(),
    RATE_LIMIT_IP_MAX: '1000000', RATE_LIMIT_USER_MAX: '1000000', ACS_CALLS_PER_USER_PER_MINUTE: '100000',
  };
  const startService = (name: string, env: Record<string, string>, { dist, prefix }: { dist?: string; prefix?: { command: string; args: string[] } } = {}) =>
    startProcess(name, [...profile, ...gcOnSignal, ...serviceEntry(dist)], { ...serviceEnv, ...env, PORT: '0' },
      (stdout) => /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(stdout)?.[1], prefix);
  const serviceUrl = await startService('service', {});

  const metricsText = async () => (await fetch(`${serviceUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const serviceMetric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await metricsText())?.[1] ?? 0);
  return {
    entra, serviceUrl, floorUrl, serviceEnv, metricsText, serviceMetric,
    servicePid: () => pids.get('service')!, startService, startFloor,
    acsCounters: async () => (await (await fetch(acs.countersUrl)).json()) as Record<string, number>,
    rssMb: async () => Math.round((await serviceMetric('process_resident_memory_bytes')) / 1048576),
    queries: () => serviceMetric('database_queries_total'),
    stop: async () => {
      for (const child of children) child.kill('SIGTERM');
      await Promise.all(children.filter((child) => child.exitCode === null && child.signalCode === null).map((child) => once(child, 'exit')));
      await entra.close();
      rmSync(dirname(caFile), { recursive: true, force: true });
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    },
  };
}
