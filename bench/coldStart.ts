// 'cold start': the built service (dist/src/server.js, NODE_ENV=production, the bench's
// database and emulators) from spawn to its first 200 on /readyz, against a bare Fastify
// process on the same node from spawn to its first 200; then each process's resident memory
// after 2 s idle. The two alternate, BENCH_COLD_STARTS times each; medians are compared.
// BENCH_NODE names the node both run on (default: the one running the bench), say a Node.js 22
// or 24 where the machine's own is older.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { projectFile } from '../src/projectFiles.js';
import { children, freePort, median, rssMbOfPid, sleep } from './processes.js';
import { serviceEntry } from './stack.js';

const BARE_FASTIFY = `import Fastify from 'fastify';
const app = Fastify();
app.get('/readyz', async () => ({ status: 'ok' }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });`;

const NODE = process.env.BENCH_NODE ?? process.execPath;

interface Start { ms: number; idleRssMb: number }

/** Spawns `args`, polls `http://127.0.0.1:<port>/readyz` until 200, reads its RSS after idling, stops it. */
async function startOnce(name: string, args: string[], env: Record<string, string>): Promise<Start> {
  const port = await freePort();
  mkdirSync(projectFile('bench', 'logs'), { recursive: true });
  const output = openSync(projectFile('bench', 'logs', `${name}.log`), 'a');
  const started = performance.now();
  const child = spawn(NODE, args, { cwd: projectFile(), env: { PATH: process.env.PATH, ...env, PORT: String(port) }, stdio: ['ignore', output, output] });
  closeSync(output);
  children.push(child);
  const url = `http://127.0.0.1:${port}/readyz`;
  let ms = 0;
  while (!ms) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: see bench/logs/${name}.log`);
    if (performance.now() - started > 60_000) throw new Error(`${name}: no 200 on /readyz in 60 s`);
    const status = await fetch(url).then((response) => { void response.body?.cancel(); return response.status; }, () => 0);
    if (status === 200) ms = performance.now() - started;
    else await sleep(5);
  }
  await sleep(2000);
  const idleRssMb = rssMbOfPid(child.pid!);
  child.kill('SIGTERM');
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  return { ms, idleRssMb };
}

export async function runColdStarts(serviceEnv: Record<string, string>, starts: number) {
  for (const name of ['cold-bare-fastify', 'cold-service']) rmSync(projectFile('bench', 'logs', `${name}.log`), { force: true });
  const bare: Start[] = [];
  const service: Start[] = [];
  for (let i = 0; i < starts; i++) {
    bare.push(await startOnce('cold-bare-fastify', ['--input-type=module', '-e', BARE_FASTIFY], {}));
    service.push(await startOnce('cold-service', serviceEntry(), serviceEnv));
    process.stdout.write(`cold start ${i + 1}: bare ${Math.round(bare.at(-1)!.ms)} ms ${bare.at(-1)!.idleRssMb} MB, service ${Math.round(service.at(-1)!.ms)} ms ${service.at(-1)!.idleRssMb} MB\n`);
  }
  const medians = (list: Start[]) => ({ ms: Math.round(median(list.map((s) => s.ms))!), rssMb: median(list.map((s) => s.idleRssMb))! });
  const b = medians(bare);
  const s = medians(service);
  return {
    row: {
      starts,
      'bare Fastify ms (each)': bare.map((x) => Math.round(x.ms)).join(' '),
      'service ms (each)': service.map((x) => Math.round(x.ms)).join(' '),
      'median ms bare → service': `${b.ms} → ${s.ms}`,
      'idle RSS MB bare → service (medians)': `${b.rssMb} → ${s.rssMb}`,
    },
    startRatio: +(s.ms / b.ms).toFixed(2),
    rssRatio: +(s.rssMb / b.rssMb).toFixed(2),
  };
}
