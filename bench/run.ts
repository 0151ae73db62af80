// `npm run bench`: the service's speed and memory, measured against the floor of its stack.
// Starts what it needs — a database on the PostgreSQL server (BENCH_DATABASE_URL's server),
// the ACS emulator in its own process (ACS_LATENCY_MS), the built service in its own process,
// and the floor server — then runs each scenario with autocannon on loopback in the same
// invocation (so that their ratios mean something on a noisy machine), prints one table and
// writes bench/results.json.
//   BENCH_SECONDS (10) per scenario, BENCH_CONNECTIONS (20), ACS_LATENCY_MS (0),
//   BENCH_SCENARIOS (comma list, default all), BENCH_ROUNDS (1; the median round is kept),
//   BENCH_CPU_PROF=1 (profile the service).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import autocannon from 'autocannon';
import pg from 'pg';
import { migrate } from '../src/db/migrations.js';
import { createPool } from '../src/db/pool.js';
import { startEntraEmulator } from '../src/emulators/entraEmulator.js';
import { projectFile } from '../src/projectFiles.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const WARM_USERS = 1000;

const children: ChildProcess[] = [];
process.on('exit', () => { for (const child of children) child.kill('SIGKILL'); });

/**
 * Starts a process and returns what `parse` finds in its output (its first JSON line, or the
 * listen URL). The output goes to bench/logs/<name>.log, not through this process, so that the
 * service's request log costs the load generator nothing.
 */
async function startProcess(name: string, args: string[], env: Record<string, string>, parse: (stdout: string) => unknown): Promise<any> {
  mkdirSync(projectFile('bench', 'logs'), { recursive: true });
  const logFile = projectFile('bench', 'logs', `${name}.log`);
  const output = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', output, 'inherit'] });
  closeSync(output);
  children.push(child);
  for (let i = 0; i < 600; i++) {
    const stdout = readFileSync(logFile, 'utf8');
    const value = parse(stdout);
    if (value) return value;
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited: ${stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${args.join(' ')} did not start`);
}
const firstJsonLine = (stdout: string) => (stdout.includes('\n') ? JSON.parse(stdout.split('\n')[0]!) : undefined);

async function main() {
  process.stdout.write('Building the service (npm run build)…\n');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: projectFile(), stdio: 'inherit' });

  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  // Databases left by an interrupted run go first.
  for (const { datname } of (await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'acs_bench_%'")).rows) {
    await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  }
  const dbName = `acs_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${dbName}`;
  const migrationPool = createPool({ connectionString: dbUrl.toString(), max: 1, timeoutMs: 10_000, idleInTransactionTimeoutMs: 10_000 });
  await migrate(migrationPool);
  await migrationPool.end();

  const entra = await startEntraEmulator();
  const tsx = ['--import', import.meta.resolve('tsx')];
  const acs = await startProcess('acs-emulator', [...tsx, projectFile('bench', 'acsEmulatorProcess.ts')], { ACS_LATENCY_MS: process.env.ACS_LATENCY_MS ?? '0' }, firstJsonLine);
  const floor = await startProcess('floor', [...tsx, projectFile('bench', 'floorServer.ts')], {
    BENCH_PUBLIC_KEY: entra.signingKey.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  }, firstJsonLine);
  // BENCH_CPU_PROF=1: the service writes a V8 CPU profile to bench/profiles/ when it stops.
  const profile = process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${projectFile('bench', 'profiles')}`] : [];
  const service = await startProcess('service', [...profile, projectFile('dist', 'src', 'server.js')], {
    NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info',
    DATABASE_URL: dbUrl.toString(),
    ACS_CONNECTION_STRING: acs.connectionString,
    AZURE_TENANT_ID: entra.tenantId, AZURE_CLIENT_ID: entra.clientId, AZURE_AUTHORITY_HOST: entra.authorityHost,
    AUDIT_HASH_KEY: randomBytes(24).toString('base64'), METRICS_TOKEN: 'bench-metrics-token-0123',
    RATE_LIMIT_IP_MAX: '1000000', RATE_LIMIT_USER_MAX: '1000000',
  }, (stdout) => /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(stdout)?.[1]);
  const serviceUrl = service as string;

  const acsCounters = async () => (await (await fetch(acs.countersUrl)).json()) as Record<string, number>;
  const commits = async () => Number((await admin.query('SELECT xact_commit FROM pg_stat_database WHERE datname = $1', [dbName])).rows[0].xact_commit);
  const rssMb = async () => {
    const text = await (await fetch(`${serviceUrl}/metrics`, { headers: { authorization: 'Bearer bench-metrics-token-0123' } })).text();
    return Math.round(Number(/^process_resident_memory_bytes (\S+)$/m.exec(text)?.[1] ?? 0) / 1048576);
  };

  // Users with identities, for the warm scenarios.
  const warmTokens = Array.from({ length: WARM_USERS }, () => entra.mintAccessToken({ lifetimeSeconds: 7200 }));
  for (let i = 0; i < warmTokens.length; i += 50) {
    await Promise.all(warmTokens.slice(i, i + 50).map((token) => fetch(`${serviceUrl}/api/user`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })));
  }
  const teamsPairs = warmTokens.slice(0, 200).map(() => {
    const objectId = randomUUID();
    return { bearer: entra.mintAccessToken({ objectId, lifetimeSeconds: 7200 }), teams: entra.mintTeamsToken({ objectId, lifetimeSeconds: 7200 }) };
  });
  const badTokens = Array.from({ length: 1000 }, () => entra.mintAccessToken({ header: { kid: randomUUID() } }).replace(/.$/, 'A'));

  type Scenario = { name: string; url: string; headers: () => Record<string, string>; amount?: number };
  let turn = 0;
  const rotate = (tokens: string[]) => () => ({ authorization: `Bearer ${tokens[turn++ % tokens.length]}` });
  const chosen = process.env.BENCH_SCENARIOS?.split(',');
  const isChosen = (name: string) => !chosen || name === 'floor' || chosen.includes(name);
  // Signing 30 000 tokens takes the machine a while: only when the scenario runs.
  const firstTokens = isChosen('first token') ? Array.from({ length: 30_000 }, () => entra.mintAccessToken({ lifetimeSeconds: 7200 })) : [];
  const scenarios: Scenario[] = [
    { name: 'floor', url: `${floor.url}/verify`, headers: rotate(warmTokens) },
    { name: 'warm token', url: `${serviceUrl}/api/token`, headers: rotate(warmTokens) },
    { name: 'first token', url: `${serviceUrl}/api/token`, headers: rotate(firstTokens), amount: firstTokens.length },
    { name: 'user', url: `${serviceUrl}/api/user`, headers: rotate(warmTokens) },
    { name: 'bad tokens', url: `${serviceUrl}/api/token`, headers: rotate(badTokens) },
    { name: 'teams', url: `${serviceUrl}/api/token/teams`, headers: () => { const pair = teamsPairs[turn++ % teamsPairs.length]!; return { authorization: `Bearer ${pair.bearer}`, 'teams-user-aad-token': pair.teams }; } },
  ];

  // "Warm" means the service has served each warm user a token already (its reuse cache holds it).
  for (let i = 0; i < warmTokens.length; i += 50) {
    await Promise.all(warmTokens.slice(i, i + 50).map((token) => fetch(`${serviceUrl}/api/token`, { headers: { authorization: `Bearer ${token}` } })));
  }

  // BENCH_ROUNDS > 1 runs the scenarios round after round and keeps, per scenario, the round
  // with the median req/s: this machine's speed drifts by tens of percent from minute to minute.
  const runScenario = async (scenario: Scenario): Promise<Record<string, unknown>> => {
    const isService = scenario.url.startsWith(serviceUrl);
    const [acsBefore, commitsBefore, rssBefore] = isService ? await Promise.all([acsCounters(), commits(), rssMb()]) : [undefined, 0, 0];
    turn = 0;
    const result = await autocannon({
      url: scenario.url,
      connections: CONNECTIONS,
      duration: SECONDS,
      ...(scenario.amount ? { amount: scenario.amount } : {}),
      requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...scenario.headers() } }) }],
    });
    const requests = result.requests.total;
    const row: Record<string, unknown> = {
      scenario: scenario.name,
      'req/s': Math.round(result.requests.average),
      'p50 ms': result.latency.p50,
      'p99 ms': result.latency.p99,
      'max ms': result.latency.max,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
    };
    if (isService) {
      const [acsAfter, commitsAfter, rssAfter] = await Promise.all([acsCounters(), commits(), rssMb()]);
      // HTTP requests that reached ACS: what counts against its quota.
      const acsCalls = acsAfter.requests! - acsBefore!.requests!;
      row['ACS calls/req'] = +(acsCalls / requests).toFixed(3);
      row['DB commits/req'] = +((commitsAfter - commitsBefore) / requests).toFixed(3);
      row['RSS MB before→after'] = `${rssBefore}→${rssAfter}`;
    }
    process.stdout.write(`${scenario.name}: ${row['req/s']} req/s\n`);
    return row;
  };
  const rounds: Array<Array<Record<string, unknown>>> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const rows: Array<Record<string, unknown>> = [];
    // "first token" spends its new users: it runs in the first round only.
    for (const scenario of scenarios.filter((s) => isChosen(s.name) && !(round > 0 && s.amount))) rows.push(await runScenario(scenario));
    rounds.push(rows);
  }
  const results = rounds[0]!.map((first) => {
    const runs = rounds.flatMap((rows) => rows.filter((row) => row.scenario === first.scenario));
    return runs.sort((a, b) => (a['req/s'] as number) - (b['req/s'] as number))[Math.floor((runs.length - 1) / 2)]!;
  });

  const floorRow = results[0]!;
  const ratio = (name: string, key: string) => {
    const row = results.find((r) => r.scenario === name);
    return row ? +((row[key] as number) / (floorRow[key] as number)).toFixed(2) : 'not run';
  };
  const summary = {
    'warm/floor req/s (target ≥ 0.5)': ratio('warm token', 'req/s'),
    'warm/floor p99 (target ≤ 3)': ratio('warm token', 'p99 ms'),
    'bad-token/floor req/s (target ≥ 0.9)': ratio('bad tokens', 'req/s'),
  };
  console.table(results);
  console.table(summary);
  const machine = { cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
  writeFileSync(projectFile('bench', 'results.json'), `${JSON.stringify({ date: new Date().toISOString(), machine, seconds: SECONDS, connections: CONNECTIONS, results, summary }, null, 2)}\n`);
  process.stdout.write('Written: bench/results.json\n');

  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => (child.exitCode === null ? once(child, 'exit') : undefined)));
  await entra.close();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}

await main();
