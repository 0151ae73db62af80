// 'users 100k' (run alone, like the soak): BENCH_SCALE_USERS (100 000) distinct users, each
// with their first GET /api/token (so each an identity created), offered evenly over
// BENCH_SCALE_SECONDS (300), with the service's RSS read every 10 s. Target: the RSS at the
// end within 20 % of the RSS after the first minute (the first fifth of a shorter run). The tokens are signed before the clock
// starts (how long that takes is reported), so that signing does not compete with the service.
import autocannon from 'autocannon';
import type { Row } from './load.js';
import type { Stack } from './stack.js';

/** Reads `rssMb` every 10 s until stopped: the samples, with seconds since the start. */
export function sampleRss(rssMb: () => Promise<number>, until: number) {
  const samples: Array<{ seconds: number; rssMb: number }> = [];
  const started = Date.now();
  const timer = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    if (seconds < until) void rssMb().then((rss) => samples.push({ seconds, rssMb: rss }), () => undefined);
  }, 10_000);
  return { samples, stop: () => clearInterval(timer) };
}
export const growth = (from: number, to: number) => (to - from) / from;

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
  let next = 0;
  const sampler = sampleRss(stack.rssMb, seconds);
  sampler.samples.push({ seconds: 0, rssMb: await stack.rssMb() });
  const [acsBefore, queriesBefore] = await Promise.all([stack.acsCounters(), stack.queries()]);
  const result = await autocannon({
    url: `${stack.serviceUrl}/api/token`, connections, amount: users, overallRate: users / seconds,
    requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${tokens[next++ % users]}` } }) }],
  });
  sampler.stop();
  const [acsAfter, queriesAfter, rssEnd] = await Promise.all([stack.acsCounters(), stack.queries(), stack.rssMb()]);
  const { samples } = sampler;
  samples.push({ seconds: Math.round(result.duration), rssMb: rssEnd });
  // After the first minute (or the first fifth of a shorter run): code compiled, pools filled.
  const firstMinute = samples.find((s) => s.seconds >= Math.min(60, seconds / 5)) ?? samples.at(-1)!;
  const change = growth(firstMinute.rssMb, rssEnd);
  const row: Row = {
    users, seconds, 'signing s': +signingSeconds.toFixed(1), 'took s': +result.duration.toFixed(1),
    'req/s': Math.round(result.requests.average), '2xx': result['2xx'], non2xx: result.non2xx, errors: result.errors + result.timeouts,
    'ACS calls/req': +((acsAfter.requests! - acsBefore.requests!) / Math.max(1, result.requests.total)).toFixed(3),
    'DB queries/req': +((queriesAfter - queriesBefore) / Math.max(1, result.requests.total)).toFixed(3),
    'RSS MB (every 10 s)': samples.map((s) => s.rssMb).join(' '),
    [`RSS MB at ${firstMinute.seconds} s → end`]: `${firstMinute.rssMb} → ${rssEnd}`,
    'growth (target ≤ 20 %)': `${(change * 100).toFixed(1)} %`,
  };
  console.table(row);
  return { row, samples, growth: change };
}
