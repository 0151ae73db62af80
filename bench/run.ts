// `npm run bench`: the service's speed and memory, measured against the floor of its stack.
// Starts what it needs (bench/stack.ts: a database on the PostgreSQL server, the emulators,
// the floor server, the built service in its own process), then runs each scenario with
// autocannon on loopback, each between two runs of the floor (bench/floor.ts: so that their
// ratios mean something on a noisy machine), prints the tables and a summary of each case
// against its target, and writes them to bench/results.json.
//   BENCH_SECONDS (10) per scenario, BENCH_CONNECTIONS (50, the floor's too), ACS_LATENCY_MS (0),
//   BENCH_SCENARIOS (comma list; default all of: warm token, user, unknown kid, forged repeated,
//     forged distinct, expired, wrong audience, teams, overload, tracing cost, cold start, first token),
//   BENCH_ROUNDS (1; the median round and ratio are kept),
//   BENCH_COLD_STARTS (5; 'cold start' also measures idle memory, see bench/coldStart.ts),
//   BENCH_TRACING_ROUNDS (3): 'tracing cost' runs the warm load against three more service
//     processes, tracing off, at ratio 0.1 and at 1 (OTLP/HTTP to a sink in the bench that counts
//     the bytes), alternating round after round; CPU µs/req, req/s and p99 against the same
//     round's off, see bench/tracingCost.ts; BENCH_TRACING_SETTINGS (0.1,1: the ratios after off);
//     BENCH_TRACING_COUNT=instructions counts instructions per request under valgrind instead,
//     after BENCH_TRACING_WARM_REQUESTS (40000) uncounted ones,
//   BENCH_NODE (the node of 'cold start''s processes; default this one),
//   BENCH_FIRST_TOKEN_USERS (30000: the new users 'first token' spends),
//   BENCH_COMPARE_DIST (another checkout's built dist: that build and this one side by side on the
//     chosen scenarios, in bursts of BENCH_COMPARE_SECONDS (3), BENCH_ROUNDS rounds; see bench/compare.ts;
//     BENCH_COMPARE_COUNT=instructions counts instructions per request under valgrind instead:
//     BENCH_COMPARE_UNCOUNTED (10000) requests uncounted, then BENCH_COMPARE_COUNTED (3000) per round),
//   BENCH_CPU_PROF=1 (profile the service), BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres),
//   BENCH_NODE_OPTIONS (the service's V8 flags; default the image's NODE_OPTIONS, from the Dockerfile; '' for V8's own sizing).
// Run alone, each by its name in BENCH_SCENARIOS:
//   'soak' (`npm run bench:soak`): BENCH_SOAK_SECONDS (300) of mixed traffic, see bench/longRuns.ts;
//   'obo distinct': BENCH_OBO_EXCHANGES (50000), see bench/longRuns.ts;
//   'users 100k': BENCH_SCALE_USERS (100000) new users over BENCH_SCALE_SECONDS (300), see bench/scale.ts.
import { runColdStarts } from './coldStart.js';
import { runBetweenFloors, RATIO_KEYS, type Scenario } from './floor.js';
import { serviceRow, type Row } from './load.js';
import { runOboDistinct, runSoak } from './longRuns.js';
import { runOverload } from './overload.js';
import { runCompare } from './compare.js';
import { judged, judgedTogether, writeResults, type SummaryRow } from './report.js';
import { runScale } from './scale.js';
import { startStack } from './stack.js';
import { makeTokens } from './tokens.js';
import { runTracingCost, TRACING_COST_KEY } from './tracingCost.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const COLD_STARTS = Number(process.env.BENCH_COLD_STARTS ?? 5);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 300);
const OBO_EXCHANGES = Number(process.env.BENCH_OBO_EXCHANGES ?? 50_000);
const SCALE_USERS = Number(process.env.BENCH_SCALE_USERS ?? 100_000);
const SCALE_SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 300);
const FIRST_TOKEN_USERS = Number(process.env.BENCH_FIRST_TOKEN_USERS ?? 30_000);
const TRACING_ROUNDS = Number(process.env.BENCH_TRACING_ROUNDS ?? 3);
const WARM_USERS = 1000;
const ALONE = ['soak', 'obo distinct', 'users 100k'];

const chosen = process.env.BENCH_SCENARIOS?.split(',').map((name) => name.trim());
const isChosen = (name: string) => (chosen ? chosen.includes(name) : !ALONE.includes(name));
const stack = await startStack();
const { entra, serviceUrl } = stack;
const tokens = makeTokens(entra, WARM_USERS);
const settings = { seconds: SECONDS, connections: CONNECTIONS, rounds: ROUNDS };
const summary: SummaryRow[] = [];

// Users with identities, each served a token already ("warm": the reuse cache holds it).
const warmUp = async (url: string, paths: string[], users = tokens.warm) => {
  for (const path of paths) {
    for (let i = 0; i < users.length; i += 50) {
      await Promise.all(users.slice(i, i + 50).map((token) =>
        fetch(`${url}${path}`, { method: path === '/api/user' ? 'POST' : 'GET', headers: { authorization: `Bearer ${token}` } }).then((response) => response.arrayBuffer())));
    }
  }
};
await warmUp(serviceUrl, ['/api/user', '/api/token']);

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const rotate = (list: string[]) => { let turn = 0; return () => bearer(list[turn++ % list.length]!); };

if (isChosen('soak')) {
  const soakGrowth = await runSoak(stack, tokens, SOAK_SECONDS, CONNECTIONS);
  // The soak writes bench/soak.json, not results.json (which keeps the last full run).
  console.table([judged('soak: RSS growth, 2nd minute → last (median)', +(soakGrowth * 100).toFixed(1), 'at most', 10, ' %')]);
} else if (isChosen('obo distinct')) {
  await runOboDistinct(stack, OBO_EXCHANGES, CONNECTIONS);
} else if (isChosen('users 100k')) {
  const scale = await runScale(stack, SCALE_USERS, SCALE_SECONDS, CONNECTIONS);
  summary.push(judged(`users ${SCALE_USERS}: RSS growth after the first minute → end`, +(scale.growth * 100).toFixed(1), 'at most', 20, ' %'));
  writeResults({ ...settings, scaleUsers: SCALE_USERS, scaleSeconds: SCALE_SECONDS }, { scale: { ...scale.row, samples: scale.samples } }, summary);
}
if (chosen?.some((name) => ALONE.includes(name))) {
  await stack.stop();
  process.exit(0);
}

// Signing 30 000 tokens takes the machine a while: only when the scenario runs.
const firstTokens = isChosen('first token') ? Array.from({ length: FIRST_TOKEN_USERS }, () => entra.mintAccessToken({ lifetimeSeconds: 7200 })) : [];
const scenarios: Scenario[] = [
  { name: 'warm token', path: '/api/token', headers: rotate(tokens.warmRotation) },
  { name: 'user', path: '/api/user', headers: rotate(tokens.warm) },
  { name: 'unknown kid', path: '/api/token', headers: rotate(tokens.unknownKid) },
  { name: 'forged repeated', path: '/api/token', headers: rotate(tokens.forgedRepeated) },
  { name: 'forged distinct', path: '/api/token', headers: () => bearer(tokens.forgedDistinct()) },
  { name: 'expired', path: '/api/token', headers: rotate(tokens.expired) },
  { name: 'wrong audience', path: '/api/token', headers: rotate(tokens.wrongAudience) },
  { name: 'teams', path: '/api/token/teams', headers: (() => { let turn = 0; return () => { const pair = tokens.teamsPairs[turn++ % tokens.teamsPairs.length]!; return { ...bearer(pair.bearer), 'teams-user-aad-token': pair.teams }; }; })() },
].filter((scenario) => isChosen(scenario.name));
const floorOptions = { connections: CONNECTIONS, seconds: SECONDS, floorHeaders: rotate(tokens.warmRotation) };
if (process.env.BENCH_COMPARE_DIST) {
  const compared = await runCompare(stack, scenarios, {
    ...floorOptions, dist: process.env.BENCH_COMPARE_DIST, seconds: Number(process.env.BENCH_COMPARE_SECONDS ?? 3), rounds: ROUNDS,
    warmUp: (url) => warmUp(url, ['/api/token']),
  });
  console.table(compared.rows);
  console.table(compared.summary);
  await stack.stop();
  process.exit(0);
}
const bracketed = await runBetweenFloors(stack, scenarios, { ...floorOptions, rounds: ROUNDS });
const tables: Record<string, unknown> = {};

if (isChosen('overload')) {
  // The rate the service sustains: the warm scenario's, or measured now if it did not run.
  const warmRow = bracketed.results.find((row) => row.scenario === 'warm token')
    ?? await serviceRow(stack, 'warm token (for overload)', { url: `${serviceUrl}/api/token`, headers: rotate(tokens.warmRotation), connections: CONNECTIONS, seconds: SECONDS });
  tables.overload = await runOverload(stack, { sustainable: warmRow['req/s'] as number, connections: CONNECTIONS, seconds: SECONDS, headers: rotate(tokens.warmRotation) });
}
let tracing: Awaited<ReturnType<typeof runTracingCost>> | undefined;
if (isChosen('tracing cost')) {
  tracing = await runTracingCost(stack, { seconds: SECONDS, connections: CONNECTIONS, rounds: TRACING_ROUNDS, headers: rotate(tokens.warmRotation), warmUp: (url) => warmUp(url, ['/api/token'], tokens.warmRotation) });
  tables.tracingCost = tracing.rows;
  tables.tracingExported = tracing.exported;
}
let coldStart: Awaited<ReturnType<typeof runColdStarts>> | undefined;
if (isChosen('cold start')) {
  coldStart = await runColdStarts(stack.serviceEnv, COLD_STARTS);
  tables.coldStart = coldStart.row;
}
// "first token" spends its new users once, last: its (30 000) identity creations leave
// PostgreSQL (autovacuum of what they wrote) and the service's caches changed for minutes,
// which would be measured in the scenarios after it.
const late = isChosen('first token')
  ? await runBetweenFloors(stack, [{ name: 'first token', path: '/api/token', headers: rotate(firstTokens), amount: firstTokens.length }], { ...floorOptions, rounds: 1 })
  : undefined;

const results: Row[] = [...bracketed.results, ...(late?.results.slice(1) ?? [])];
const ratio = (name: string, key: typeof RATIO_KEYS[number]) => bracketed.ratio(name, key) ?? late?.ratio(name, key);
summary.push(
  judgedTogether('warm GET /api/token, 200 users, vs floor', [judged('req/s', ratio('warm token', 'req/s'), 'at least', 1), judged('p99', ratio('warm token', 'p99 ms'), 'at most', 1.5)]),
  judged('forged, published kid, the same 50 repeated: req/s vs floor', ratio('forged repeated', 'req/s'), 'at least', 2),
  judged('forged, published kid, every token distinct: req/s vs floor', ratio('forged distinct', 'req/s'), 'at least', 0.9),
  judged('expired: req/s vs floor', ratio('expired', 'req/s'), 'at least', 0.9),
  judged('wrong audience: req/s vs floor', ratio('wrong audience', 'req/s'), 'at least', 0.9),
  judged('unknown kid: req/s vs floor', ratio('unknown kid', 'req/s'), 'at least', 0.9),
  judged(`tracing at ratio 0.1: ${TRACING_COST_KEY} of a warm request vs tracing off (median of rounds)`, tracing?.ratio('0.1', TRACING_COST_KEY), 'at most', 1.1),
  judged('cold start to the first 200 on /readyz vs bare Fastify (medians)', coldStart?.startRatio, 'at most', 3),
  judged('idle RSS after start vs bare Fastify (medians)', coldStart?.rssRatio, 'at most', 1.5),
);
// CPU per request against the floor's, per scenario (the median of the rounds'): steadier than req/s.
const cpuRatios = Object.fromEntries(results.filter((row) => row.scenario !== 'floor').map((row) => [row.scenario as string, ratio(row.scenario as string, 'CPU µs/req')] as const));

if (results.length) console.table(results);
if (tables.overload) console.table(tables.overload);
if (tracing) {
  console.table(tracing.rows);
  process.stdout.write(`Traces received by the OTLP sink, by setting: ${JSON.stringify(tracing.exported)}\n`);
}
if (coldStart) console.table(coldStart.row);
if (results.length) process.stdout.write(`Ratios to the floor, round by round:\n${bracketed.spread}\n${late?.spread ?? ''}\nCPU µs/req against the floor's: ${JSON.stringify(cpuRatios)}\n`);
writeResults(settings, { results, ...tables, cpuRatios, ratiosByRound: { ...bracketed.ratiosByRound, ...late?.ratiosByRound } }, summary);
await stack.stop();
