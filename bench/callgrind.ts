// Instructions a process executes, counted by valgrind's callgrind. Unlike CPU time, the count
// hardly depends on what else the machine is doing, so small differences between two builds or
// settings show even on a shared machine. The process runs under valgrind (much slower) with
// counting off; it is switched on only around the work measured.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { runLoad, type Load } from './load.js';
import { sleep } from './processes.js';

/** valgrind's arguments before the node command line: counting off until asked. */
// A dump per thread: only the main thread's is counted, where the requests are served. The
// compiler's and the collector's background threads run when their timing says so, so counting
// them made the same work's count differ widely from one run to the next.
export const callgrindPrefix = (outFile: string) => ['-q', '--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${outFile}`];

type Env = Record<string, string | undefined>;

/**
 * callgrind_control finds the process by files named after the user and the host as the counted
 * process's environment gives them (LOGNAME or USER, HOST or else HOSTNAME: the service's listen
 * address here).
 */
function controlEnv(counted: Env): Env {
  const env = { ...process.env };
  for (const name of ['LOGNAME', 'USER', 'HOST', 'HOSTNAME']) {
    if (counted[name] === undefined) delete env[name];
    else env[name] = counted[name];
  }
  return env;
}

const controlWith = (pid: number, env: Env, ...args: string[]) => {
  const said = execFileSync('callgrind_control', [...args, String(pid)], { encoding: 'utf8', env });
  if (!said.includes('OK')) throw new Error(`callgrind_control ${args.join(' ')} ${pid}: ${said}`);
};

/**
 * The instructions the process `pid` (started with callgrindPrefix(outFile) and the environment
 * `env`) executes during `work`.
 */
export async function countInstructions(pid: number, env: Env, outFile: string, work: () => Promise<unknown>): Promise<number> {
  const control = (...args: string[]) => controlWith(pid, controlEnv(env), ...args);
  control('--zero');
  control('--instr=on');
  try {
    await work();
  } finally {
    control('--instr=off');
  }
  // By time, not by name: an earlier run's dumps (same names) may still lie in the directory.
  const asked = Date.now() - 1000;
  const before = new Set(dumps(outFile).filter((file) => statSync(file).mtimeMs >= asked));
  control('--dump');
  // The process writes the dump when valgrind next looks at its commands.
  // Named <outFile>.<dump>-<thread>, the main thread's ending in -01.
  // Its totals come last: a file read while still being written has none yet.
  let written: string[] = [];
  let totals: string | undefined;
  for (let wait = 0; wait < 300 && totals === undefined; wait++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    written = dumps(outFile).filter((file) => file.endsWith('-01') && !before.has(file) && statSync(file).mtimeMs >= asked);
    if (written.length > 1) throw new Error(`callgrind wrote ${written.length} main-thread dumps for ${outFile}`);
    if (written.length === 1) totals = /^totals: (\d+)/m.exec(readFileSync(written[0]!, 'utf8'))?.[1];
  }
  if (totals === undefined) throw new Error(written.length ? `no totals in ${written[0]}` : `callgrind wrote no main-thread dump for ${outFile}`);
  return Number(totals);
}

/**
 * Instructions per request of `load` (with `amount` requests) served by the process `pid`, counted
 * from a collected heap (SIGURG: bench/stack.ts; a process without that handler ignores it). The
 * count is per request sent, kept only if nearly all were answered `status`: a request the load
 * generator gave up on (its timeout, in a long pause under valgrind) was still served, but any
 * other answer means the load was not the path meant.
 */
export async function instructionsPerRequest(pid: number, env: Env, outFile: string, load: Load & { amount: number }, status: number, name: string): Promise<number> {
  process.kill(pid, 'SIGURG');
  await sleep(2000);
  let answered = 0;
  const instructions = await countInstructions(pid, env, outFile, async () => {
    const { latencies } = await runLoad(load, pid);
    answered = latencies.get(status)?.length ?? 0;
  });
  if (answered < load.amount * 0.99) throw new Error(`${name}: ${answered} of ${load.amount} requests answered ${status}`);
  return Math.round(instructions / load.amount);
}

const dumps = (outFile: string) => readdirSync(dirname(outFile)).filter((name) => name.startsWith(`${basename(outFile)}.`)).map((name) => join(dirname(outFile), name));
