// The runs that take minutes and run alone: the soak (`npm run bench:soak`) and
// 'obo distinct'.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { projectFile } from '../src/projectFiles.js';
import { median, pids, sleep } from './processes.js';
import { growth, sampleRss } from './scale.js';
import type { Stack } from './stack.js';
import type { BenchTokens } from './tokens.js';

const percent = (ratio: number) => `${(ratio * 100).toFixed(1)} %`;

/**
 * The soak: mixed traffic for `seconds` — warm users, a new user in every ten requests (from a
 * pool that turns warm after its first pass), a token of an unknown key in every five — with
 * the service's RSS read every 10 s. Growth is counted from the second minute (code compiled,
 * caches filled) and from the start. Returns the main growth figure.
 */
export async function runSoak(stack: Stack, tokens: BenchTokens, seconds: number, connections: number) {
  const newUsers = Array.from({ length: 5000 }, () => stack.entra.mintAccessToken({ lifetimeSeconds: 7200 }));
  let n = 0;
  const headers = () => {
    n++;
    const token = n % 10 === 0 ? newUsers[(n / 10) % newUsers.length]! : n % 5 === 0 ? tokens.unknownKid[n % tokens.unknownKid.length]! : tokens.warm[n % tokens.warm.length]!;
    return { authorization: `Bearer ${token}` };
  };
  const sampler = sampleRss(stack.rssMb, seconds);
  const samples = sampler.samples;
  samples.push({ seconds: 0, rssMb: await stack.rssMb() });
  const result = await autocannon({
    url: `${stack.serviceUrl}/api/token`, connections, duration: seconds,
    requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...headers() } }) }],
  });
  sampler.stop();
  samples.push({ seconds, rssMb: await stack.rssMb() });
  // Garbage collection swings RSS by tens of MB between two samples, so growth compares the
  // median of the second minute's samples with the median of the last minute's, not two
  // single samples (which are printed too).
  const medianRss = (from: number, to: number) =>
    median(samples.filter((s) => s.seconds >= from && s.seconds <= to).map((s) => s.rssMb)) ?? samples.at(-1)!.rssMb;
  const secondMinute = medianRss(60, 120);
  const lastMinute = medianRss(seconds - 60, seconds);
  const afterMinute = samples.find((s) => s.seconds >= 60) ?? samples[0]!;
  const soak = {
    seconds, 'req/s': Math.round(result.requests.average), errors: result.errors + result.timeouts,
    'RSS MB': samples.map((s) => s.rssMb).join(' '),
    'growth, median of the 2nd minute → of the last (target < 10 %)': `${secondMinute} → ${lastMinute} MB: ${percent(growth(secondMinute, lastMinute))}`,
    'growth, single samples at 60 s → the end': percent(growth(afterMinute.rssMb, samples.at(-1)!.rssMb)),
    'growth from the start': percent(growth(samples[0]!.rssMb, samples.at(-1)!.rssMb)),
  };
  console.table(soak);
  writeFileSync(projectFile('bench', 'soak.json'), `${JSON.stringify({ date: new Date().toISOString(), ...soak, samples }, null, 2)}\n`);
  process.stdout.write('Written: bench/soak.json\n');
  return growth(secondMinute, lastMinute);
}

/**
 * 'obo distinct': `exchanges` on-behalf-of exchanges (no Teams header), each for a new user
 * with a new caller token, in ten batches; after each, the service collects garbage and its
 * heap in use is read. A flat heap means nothing is kept per caller or per user beyond the
 * bounded caches.
 */
export async function runOboDistinct(stack: Stack, exchanges: number, connections: number) {
  const { entra } = stack;
  const heapMb = async () => {
    process.kill(pids.get('service')!, 'SIGURG');
    await sleep(500);
    return +((await stack.serviceMetric('nodejs_heap_size_used_bytes')) / 1048576).toFixed(1);
  };
  const cacheEntries = async () =>
    [...(await stack.metricsText()).matchAll(/^teams_obo_cache_entries\{cache="(\w+)"\} (\S+)$/gm)].map(([, cache, n]) => `${cache} ${n}`).join(', ') || 'no metric';
  const batch = Math.ceil(exchanges / 10);
  const samples: Array<Record<string, string | number>> = [{ exchanges: 0, 'heap MB': await heapMb(), 'RSS MB': await stack.rssMb(), caches: await cacheEntries() }];
  console.table(samples);
  let done = 0;
  const started = Date.now();
  while (done < exchanges) {
    const amount = Math.min(batch, exchanges - done);
    const result = await autocannon({
      url: `${stack.serviceUrl}/api/token/teams`, connections: Math.min(connections, amount), amount,
      requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${entra.mintAccessToken({ objectId: randomUUID() })}` } }) }],
    });
    done += amount;
    const sample = {
      exchanges: done, 'heap MB': await heapMb(), 'RSS MB': await stack.rssMb(), caches: await cacheEntries(),
      'req/s': Math.round(result.requests.average), non2xx: result.non2xx, errors: result.errors + result.timeouts,
    };
    samples.push(sample);
    process.stdout.write(`${JSON.stringify(sample)}\n`);
  }
  console.table(samples);
  process.stdout.write(`${exchanges} exchanges in ${Math.round((Date.now() - started) / 1000)} s; on-behalf-of grants: ${entra.counters.oboGrants}; heap ${samples[0]!['heap MB']} → ${samples.at(-1)!['heap MB']} MB\n`);
}
