// `npm run bench`: the service's speed and memory, measured against the floor of its stack.
// Starts what it needs — a database on the PostgreSQL server (BENCH_DATABASE_URL's server),
// the ACS emulator in its own process (ACS_LATENCY_MS), the built service in its own process,
// and the floor server — then runs each scenario with autocannon on loopback in the same
// invocation, each between two runs of the floor (so that their ratios mean something on a
// noisy machine), prints one table and writes bench/results.json.
//   BENCH_SECONDS (10) per scenario, BENCH_CONNECTIONS (20), ACS_LATENCY_MS (0),
//   BENCH_SCENARIOS (comma list, default all but soak), BENCH_ROUNDS (1; the median round and ratio are kept),
//   BENCH_SOAK_SECONDS (300; `npm run bench:soak` runs the soak alone, see runSoak),
//   BENCH_CPU_PROF=1 (profile the service),
//   BENCH_OBO_EXCHANGES (50000; `BENCH_SCENARIOS='obo distinct'` runs it alone, see runOboDistinct).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { migrate } from '../src/db/migrations.js';
import { createPool } from '../src/db/pool.js';
import { startEntraEmulator } from '../emulators/entraEmulator.js';
import { projectFile } from '../src/projectFiles.js';
import { testServiceEnv } from '../test/helpers/testServiceEnv.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 300);
const OBO_EXCHANGES = Number(process.env.BENCH_OBO_EXCHANGES ?? 50_000);
const WARM_USERS = 1000;
/** The middle value (the lower of the two middle ones for an even count); sorts `values`. */
const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

const children: ChildProcess[] = [];
const pids = new Map<string, number>();
/** CPU time (user + system) a process has used so far, in milliseconds (Linux /proc). */
const cpuMs = (name: string) => {
  const fields = readFileSync(`/proc/${pids.get(name)}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in 1/100 s
};
process.on('exit', () => { for (const child of children) child.kill('SIGKILL'); });

/**
 * Starts a process and returns what `parse` finds in its output (its first JSON line, or the
 * listen URL). The output goes to bench/logs/<name>.log, not through this process, so that the
 * service's request log costs the load generator nothing.
 */
async function startProcess<T>(name: string, args: string[], env: Record<string, string>, parse: (stdout: string) => T | undefined): Promise<T> {
  mkdirSync(projectFile('bench', 'logs'), { recursive: true });
  const logFile = projectFile('bench', 'logs', `${name}.log`);
  const output = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', output, 'inherit'] });
  closeSync(output);
  children.push(child);
  pids.set(name, child.pid!);
  for (let i = 0; i < 600; i++) {
    const stdout = readFileSync(logFile, 'utf8');
    const value = parse(stdout);
    if (value) return value;
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited: ${stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${args.join(' ')} did not start`);
}
/** The first line of a process's output, parsed as the JSON object the process said it writes. */
const firstJsonLine = <T>(stdout: string) => (stdout.includes('\n') ? (JSON.parse(stdout.split('\n')[0]!) as T) : undefined);

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

  // Over TLS, with a client secret: MSAL (on-behalf-of mode) refuses http:// authorities.
  const entra = await startEntraEmulator({ tls: true });
  const caFile = join(mkdtempSync(join(tmpdir(), 'acs-bench-ca-')), 'authority-ca.pem');
  writeFileSync(caFile, entra.caCertificate!);
  const tsx = ['--import', import.meta.resolve('tsx')];
  const acs = await startProcess('acs-emulator', [...tsx, projectFile('bench', 'acsEmulatorProcess.ts')], { ACS_LATENCY_MS: process.env.ACS_LATENCY_MS ?? '0' }, firstJsonLine<{ connectionString: string; countersUrl: string }>);
  const floor = await startProcess('floor', [...tsx, projectFile('bench', 'floorServer.ts')], {
    BENCH_PUBLIC_KEY: entra.signingKey.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  }, firstJsonLine<{ url: string }>);
  // BENCH_CPU_PROF=1: the service writes a V8 CPU profile to bench/profiles/ when it stops.
  const profile = process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${projectFile('bench', 'profiles')}`] : [];
  // SIGURG (nothing else handles it) makes the service collect garbage: heap figures are then
  // what stays alive.
  const gcOnSignal = ['--expose-gc', '--import', 'data:text/javascript,process.on("SIGURG",()=>globalThis.gc())'];
  const serviceUrl = await startProcess('service', [...profile, ...gcOnSignal, projectFile('dist', 'src', 'server.js')], {
    NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info',
    ...testServiceEnv({ entra, acs, database: { url: dbUrl.toString() } }),
    AZURE_CLIENT_SECRET: entra.clientSecret, AZURE_AUTHORITY_CA_FILE: caFile,
    AUDIT_HASH_KEY: randomBytes(24).toString('base64'), METRICS_TOKEN: 'bench-metrics-token-0123',
    RATE_LIMIT_IP_MAX: '1000000', RATE_LIMIT_USER_MAX: '1000000', ACS_CALLS_PER_USER_PER_MINUTE: '100000',
  }, (stdout) => /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(stdout)?.[1]);

  const acsCounters = async () => (await (await fetch(acs.countersUrl)).json()) as Record<string, number>;
  const serviceMetric = async (name: string) => {
    const text = await (await fetch(`${serviceUrl}/metrics`, { headers: { authorization: 'Bearer bench-metrics-token-0123' } })).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  };
  const rssMb = async () => Math.round((await serviceMetric('process_resident_memory_bytes')) / 1048576);
  // Statements the service sent to PostgreSQL (its own count: PostgreSQL's statistics lag).
  const queries = () => serviceMetric('database_queries_total');

  const stop = async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.filter((child) => child.exitCode === null).map((child) => once(child, 'exit')));
    await entra.close();
    rmSync(dirname(caFile), { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
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
    const processName = isService ? 'service' : 'floor';
    const [acsBefore, queriesBefore, rssBefore] = isService ? await Promise.all([acsCounters(), queries(), rssMb()]) : [undefined, 0, 0];
    const cpuBefore = cpuMs(processName);
    turn = 0;
    // Latency from every response's own time, in fractions of a millisecond: autocannon's
    // histogram keeps whole milliseconds, and the floor answers in less than one.
    const latencies: number[] = [];
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon({
        url: scenario.url,
        connections: CONNECTIONS,
        duration: SECONDS,
        ...(scenario.amount ? { amount: scenario.amount } : {}),
        requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...scenario.headers() } }) }],
      }, (error: Error | null, done) => (error ? reject(error) : resolve(done)));
      instance.on('response', (_client, _status, _bytes, ms) => { latencies.push(ms); });
    });
    latencies.sort((a, b) => a - b);
    const percentile = (p: number) => +(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0).toFixed(2);
    const requests = result.requests.total;
    const row: Record<string, string | number> = {
      scenario: scenario.name,
      'req/s': Math.round(result.requests.average),
      'p50 ms': percentile(0.5),
      'p99 ms': percentile(0.99),
      'max ms': +(latencies.at(-1) ?? 0).toFixed(2),
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
      // The server's own CPU time per request: steadier than req/s on a machine whose speed drifts.
      'CPU µs/req': Math.round(((cpuMs(processName) - cpuBefore) * 1000) / result.requests.total),
    };
    if (isService) {
      const [acsAfter, queriesAfter, rssAfter] = await Promise.all([acsCounters(), queries(), rssMb()]);
      // HTTP requests that reached ACS: what counts against its quota.
      const acsCalls = acsAfter.requests! - acsBefore!.requests!;
      row['ACS calls/req'] = +(acsCalls / requests).toFixed(3);
      row['DB queries/req'] = +((queriesAfter - queriesBefore) / requests).toFixed(3);
      row['RSS MB before→after'] = `${rssBefore}→${rssAfter}`;
    }
    process.stdout.write(`${scenario.name}: ${row['req/s']} req/s\n`);
    return row;
  };
  // The soak: mixed traffic for BENCH_SOAK_SECONDS (300) — warm users, a new user in every ten
  // requests (from a pool that turns warm after its first pass), a bad token in every five —
  // with the service's RSS read every 10 s. Growth is counted from the second minute (code
  // compiled, caches filled) and from the start.
  const runSoak = async () => {
    const newUsers = Array.from({ length: 5000 }, () => entra.mintAccessToken({ lifetimeSeconds: 7200 }));
    let n = 0;
    const headers = () => {
      n++;
      const token = n % 10 === 0 ? newUsers[(n / 10) % newUsers.length]! : n % 5 === 0 ? badTokens[n % badTokens.length]! : warmTokens[n % warmTokens.length]!;
      return { authorization: `Bearer ${token}` };
    };
    const samples: Array<{ seconds: number; rssMb: number }> = [{ seconds: 0, rssMb: await rssMb() }];
    const started = Date.now();
    const sampler = setInterval(() => {
      const seconds = Math.round((Date.now() - started) / 1000);
      if (seconds < SOAK_SECONDS) void rssMb().then((rss) => samples.push({ seconds, rssMb: rss }), () => undefined);
    }, 10_000);
    const result = await autocannon({
      url: `${serviceUrl}/api/token`, connections: CONNECTIONS, duration: SOAK_SECONDS,
      requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...headers() } }) }],
    });
    clearInterval(sampler);
    samples.push({ seconds: SOAK_SECONDS, rssMb: await rssMb() });
    // Garbage collection swings RSS by tens of MB between two samples, so growth compares the
    // median of the second minute's samples with the median of the last minute's, not two
    // single samples (which are printed too).
    const medianRss = (from: number, to: number) =>
      median(samples.filter((s) => s.seconds >= from && s.seconds <= to).map((s) => s.rssMb)) ?? samples.at(-1)!.rssMb;
    const growth = (from: number, to: number) => `${(((to - from) / from) * 100).toFixed(1)} %`;
    const secondMinute = medianRss(60, 120);
    const lastMinute = medianRss(SOAK_SECONDS - 60, SOAK_SECONDS);
    const afterMinute = samples.find((s) => s.seconds >= 60) ?? samples[0]!;
    const soak = {
      seconds: SOAK_SECONDS, 'req/s': Math.round(result.requests.average), errors: result.errors + result.timeouts,
      'RSS MB': samples.map((s) => s.rssMb).join(' '),
      'growth, median of the 2nd minute → of the last (target < 10 %)': `${secondMinute} → ${lastMinute} MB: ${growth(secondMinute, lastMinute)}`,
      'growth, single samples at 60 s → the end': growth(afterMinute.rssMb, samples.at(-1)!.rssMb),
      'growth from the start': growth(samples[0]!.rssMb, samples.at(-1)!.rssMb),
    };
    console.table(soak);
    writeFileSync(projectFile('bench', 'soak.json'), `${JSON.stringify({ date: new Date().toISOString(), ...soak, samples }, null, 2)}\n`);
    process.stdout.write('Written: bench/soak.json\n');
  };
  if (chosen?.includes('soak')) {
    await runSoak();
    return stop();
  }

  // 'obo distinct': BENCH_OBO_EXCHANGES on-behalf-of exchanges (no Teams header), each for a
  // new user with a new caller token, in ten batches; after each, the service collects garbage
  // and its heap in use is read. A flat heap means nothing is kept per caller or per user
  // beyond the bounded caches.
  const runOboDistinct = async () => {
    const heapMb = async () => {
      process.kill(pids.get('service')!, 'SIGURG');
      await new Promise((resolve) => setTimeout(resolve, 500));
      return +((await serviceMetric('nodejs_heap_size_used_bytes')) / 1048576).toFixed(1);
    };
    const cacheEntries = async () => {
      const text = await (await fetch(`${serviceUrl}/metrics`, { headers: { authorization: 'Bearer bench-metrics-token-0123' } })).text();
      return [...text.matchAll(/^teams_obo_cache_entries\{cache="(\w+)"\} (\S+)$/gm)].map(([, cache, n]) => `${cache} ${n}`).join(', ') || 'no metric';
    };
    const batch = Math.ceil(OBO_EXCHANGES / 10);
    const samples: Array<Record<string, string | number>> = [{ exchanges: 0, 'heap MB': await heapMb(), 'RSS MB': await rssMb(), caches: await cacheEntries() }];
    console.table(samples);
    let done = 0;
    const started = Date.now();
    while (done < OBO_EXCHANGES) {
      const amount = Math.min(batch, OBO_EXCHANGES - done);
      const result = await autocannon({
        url: `${serviceUrl}/api/token/teams`, connections: CONNECTIONS, amount,
        requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${entra.mintAccessToken({ objectId: randomUUID() })}` } }) }],
      });
      done += amount;
      const sample = {
        exchanges: done, 'heap MB': await heapMb(), 'RSS MB': await rssMb(), caches: await cacheEntries(),
        'req/s': Math.round(result.requests.average), non2xx: result.non2xx, errors: result.errors + result.timeouts,
      };
      samples.push(sample);
      process.stdout.write(`${JSON.stringify(sample)}\n`);
    }
    console.table(samples);
    process.stdout.write(`${OBO_EXCHANGES} exchanges in ${Math.round((Date.now() - started) / 1000)} s; on-behalf-of grants: ${entra.counters.oboGrants}; heap ${samples[0]!['heap MB']} → ${samples.at(-1)!['heap MB']} MB\n`);
  };
  if (chosen?.includes('obo distinct')) {
    await runOboDistinct();
    return stop();
  }

  // Each service scenario runs between two runs of the floor, and its ratios are taken against
  // their mean: this machine's speed drifts by tens of percent from one minute to the next, so
  // only a floor measured seconds before and after says what "the same machine" could do.
  // With BENCH_ROUNDS > 1 the table keeps, per scenario, the round with the median req/s, and
  // each ratio is the median of the rounds' ratios.
  const RATIO_KEYS = ['req/s', 'p99 ms', 'CPU µs/req'] as const;
  const rounds: Array<Array<Record<string, unknown>>> = [];
  const ratiosByScenario = new Map<string, Array<Record<string, number>>>();
  const floorScenario = scenarios[0]!;
  let floorBefore: Record<string, unknown> | undefined;
  // Runs `scenario` and then the floor, into `rows`; its ratios are to the floors on each side.
  const runBetweenFloors = async (scenario: Scenario, rows: Array<Record<string, unknown>>) => {
    floorBefore ??= await runScenario(floorScenario);
    if (rows.length === 0) rows.push(floorBefore);
    const row = await runScenario(scenario);
    const floorAfter = await runScenario(floorScenario);
    const ratios = Object.fromEntries(RATIO_KEYS.map((key) =>
      [key, (row[key] as number) / (((floorBefore![key] as number) + (floorAfter[key] as number)) / 2)]));
    ratiosByScenario.set(scenario.name, [...(ratiosByScenario.get(scenario.name) ?? []), ratios]);
    rows.push(row, floorAfter);
    floorBefore = floorAfter;
  };
  for (let round = 0; round < ROUNDS; round++) {
    const rows: Array<Record<string, unknown>> = [];
    floorBefore = undefined;
    for (const scenario of scenarios.slice(1).filter((s) => isChosen(s.name) && !s.amount)) await runBetweenFloors(scenario, rows);
    rounds.push(rows);
  }
  // "first token" spends its new users, once, after every round: its 30 000 identity
  // creations leave PostgreSQL (autovacuum of what they wrote) and the service's caches
  // changed for minutes, which would be measured in the scenarios after it (see RESULTS.md).
  for (const scenario of scenarios.filter((s) => s.amount && isChosen(s.name))) await runBetweenFloors(scenario, rounds.at(-1)!);
  const results = [...new Set(rounds.flat().map((row) => row.scenario as string))].map((name) => {
    const runs = rounds.flatMap((rows) => rows.filter((row) => row.scenario === name));
    return runs.sort((a, b) => (a['req/s'] as number) - (b['req/s'] as number))[Math.floor((runs.length - 1) / 2)]!;
  });

  const ratio = (name: string, key: typeof RATIO_KEYS[number]) => {
    const perRound = ratiosByScenario.get(name);
    return perRound ? +median(perRound.map((ratios) => ratios[key]!))!.toFixed(2) : 'not run';
  };
  const summary = {
    'warm/floor req/s (target ≥ 0.5)': ratio('warm token', 'req/s'),
    'warm/floor p99 (target ≤ 3)': ratio('warm token', 'p99 ms'),
    'bad-token/floor req/s (target ≥ 0.9)': ratio('bad tokens', 'req/s'),
    'warm/floor CPU µs/req': ratio('warm token', 'CPU µs/req'),
    'bad-token/floor CPU µs/req': ratio('bad tokens', 'CPU µs/req'),
  };
  // Every round's ratios, to show how far they spread.
  const spread = Object.fromEntries([...ratiosByScenario].map(([name, perRound]) =>
    [name, perRound.map((ratios) => RATIO_KEYS.map((key) => `${key} ${ratios[key]!.toFixed(2)}`).join(', ')).join(' | ')]));
  console.table(results);
  console.table(summary);
  process.stdout.write(`Ratios to the floor, round by round:\n${Object.entries(spread).map(([name, text]) => `  ${name}: ${text}`).join('\n')}\n`);
  const machine = { cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
  writeFileSync(projectFile('bench', 'results.json'), `${JSON.stringify({ date: new Date().toISOString(), machine, seconds: SECONDS, connections: CONNECTIONS, rounds: ROUNDS, results, summary, ratiosByRound: Object.fromEntries(ratiosByScenario) }, null, 2)}\n`);
  process.stdout.write('Written: bench/results.json\n');

  await stop();
}

await main();
