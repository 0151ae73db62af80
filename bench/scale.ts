// 'users 100k' (run alone, like the soak): BENCH_SCALE_USERS (100 000) distinct users, each
// with their first GET /api/token (so each an identity created), offered evenly over
// BENCH_SCALE_SECONDS (300), with the service's RSS (and V8's heap beside it: in use, reserved,
// its old and young generations, and after a last garbage collection what stays alive) read
// every 10 s, and the users answered by each reading. Target: the RSS at the
// end within 20 % of the RSS after the first minute (the first fifth of a shorter run). The tokens are signed before the clock
// starts (how long that takes is reported), so that signing does not compete with the service.
import autocannon from 'autocannon';
import type { Row } from './load.js';
import { cpuMsOfPid, sleep } from './processes.js';
import type { Stack } from './stack.js';

/** Reads `rssMb` every 10 s until stopped (or until `until` seconds): the samples, with seconds since the start. */
export function sampleRss(rssMb: () => Promise<number>, until = Infinity) {
  const samples: Array<{ seconds: number; rssMb: number }> = [];
  const started = Date.now();
  const timer = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    if (seconds < until) void rssMb().then((rss) => samples.push({ seconds, rssMb: rss }), () => undefined);
  }, 10_000);
  return { samples, stop: () => clearInterval(timer) };
}
export const growth = (from: number, to: number) => (to - from) / from;

/** The service's heap (V8's, in use and reserved) and memory outside it, in MB, from its metrics. */
async function heapMb(stack: Stack) {
  const text = await stack.metricsText();
  const mb = (name: string) => Math.round(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0) / 1048576);
  return `${mb('nodejs_heap_size_used_bytes')}/${mb('nodejs_heap_size_total_bytes')}/${mb('nodejs_external_memory_bytes')}`;
}

/** V8's old generation (in use/reserved) and young generation (reserved), in MB: which space holds the growth. */
async function spacesMb(stack: Stack) {
  const text = await stack.metricsText();
  const mb = (name: string, space: string) => Math.round(Number(new RegExp(`^${name}\\{space="${space}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0) / 1048576);
  return `${mb('nodejs_heap_space_size_used_bytes', 'old')}/${mb('nodejs_heap_space_size_total_bytes', 'old')}/${mb('nodejs_heap_space_size_total_bytes', 'new')}`;
}

export async function runScale(stack: Stack, users: number, seconds: number, connections: number) {
  const { entra } = stack;
  const signing = Date.now();
  const tokens: string[] = [];
  for (let i = 0; i < users; i++) {
    tokens.push(entra.mintAccessToken({ lifetimeSeconds: seconds + 3600 }));
    if (i % 10_000 === 9999) process.stdout.write(`  ${i + 1} tokens signed\n`);
  }
  const signingSeconds = (Date.now() - signing) / 1000;
  process.stdout.write(`${users} tokens signed in ${signingSeconds.toFixed(1)} s\n`);
  // Signing held this process's event loop: the service's closing of idle connections is seen
  // now, before a request could be sent on one of them ("other side closed").
  await sleep(1000);
  let next = 0;
  // Sampled until the end, which comes later than `seconds` if the service falls behind.
  // V8's heap beside each RSS sample: what grows, the objects kept or the room V8 keeps for them.
  const heaps: string[] = [];
  const spaces: string[] = [];
  // Users answered by each sample: whether the first minute held the first minute's users.
  let answered = 0;
  const served: number[] = [];
  const rssAndHeap = async () => {
    served.push(answered);
    const [rss, heap, space] = await Promise.all([stack.rssMb(), heapMb(stack), spacesMb(stack)]);
    heaps.push(heap);
    spaces.push(space);
    return rss;
  };
  const sampler = sampleRss(rssAndHeap);
  sampler.samples.push({ seconds: 0, rssMb: await rssAndHeap() });
  const [acsBefore, queriesBefore] = await Promise.all([stack.acsCounters(), stack.queries()]);
  const cpuBefore = cpuMsOfPid(stack.servicePid());
  // The same rate on every connection: autocannon gives each connection an equal share of
  // `amount` but (with overallRate) unequal rates, so that the slower ones would finish late.
  const perConnection = Math.max(1, Math.ceil(users / seconds / connections));
  const run = autocannon({
    url: `${stack.serviceUrl}/api/token`, connections: Math.max(1, Math.round(users / seconds / perConnection)), amount: users, connectionRate: perConnection,
    requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${tokens[next++ % users]}` } }) }],
  }) as Promise<autocannon.Result> & autocannon.Instance;
  const events: autocannon.Instance = run;
  events.on('response', () => answered++);
  const result = await run;
  sampler.stop();
  const cpuUsPerRequest = Math.round(((cpuMsOfPid(stack.servicePid()) - cpuBefore) * 1000) / Math.max(1, result.requests.total));
  const [acsAfter, queriesAfter, rssEnd] = await Promise.all([stack.acsCounters(), stack.queries(), rssAndHeap()]);
  // What stays alive: the service collects garbage on SIGURG (bench/stack.ts).
  process.kill(stack.servicePid(), 'SIGURG');
  await sleep(500);
  const heapAfterGc = await heapMb(stack);
  const { samples } = sampler;
  samples.push({ seconds: Math.round(result.duration), rssMb: rssEnd });
  // After the first minute (or the first fifth of a shorter run): code compiled, pools filled.
  const firstMinute = samples.find((s) => s.seconds >= Math.min(60, seconds / 5)) ?? samples.at(-1)!;
  const change = growth(firstMinute.rssMb, rssEnd);
  const row: Row = {
    users, seconds, 'signing s': +signingSeconds.toFixed(1), 'took s': +result.duration.toFixed(1),
    'req/s': Math.round(result.requests.average), 'p50 ms': result.latency.p50, 'p99 ms': result.latency.p99, 'CPU µs/req': cpuUsPerRequest,
    '2xx': result['2xx'], non2xx: result.non2xx, errors: result.errors + result.timeouts,
    'ACS calls/req': +((acsAfter.requests! - acsBefore.requests!) / Math.max(1, result.requests.total)).toFixed(3),
    'DB queries/req': +((queriesAfter - queriesBefore) / Math.max(1, result.requests.total)).toFixed(3),
    'RSS MB (every 10 s)': samples.map((s) => s.rssMb).join(' '),
    [`RSS MB at ${firstMinute.seconds} s → end`]: `${firstMinute.rssMb} → ${rssEnd}`,
    'growth (target ≤ 20 %)': `${(change * 100).toFixed(1)} %`,
    [`users answered by ${firstMinute.seconds} s (offered ${Math.round((users * firstMinute.seconds) / seconds)})`]: served[samples.indexOf(firstMinute)] ?? '',
    'heap MB in use/reserved/external (every 10 s)': heaps.join(' '),
    'old space MB in use/reserved, new space reserved (every 10 s)': spaces.join(' '),
    'heap MB at the end, after garbage collection': heapAfterGc,
  };
  console.table(row);
  return { row, samples, growth: change };
}
