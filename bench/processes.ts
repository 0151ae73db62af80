// The bench's child processes: started with their output in bench/logs/<name>.log, their CPU
// time and memory read from Linux's /proc, all killed when the bench exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { projectFile } from '../src/projectFiles.js';

export const children: ChildProcess[] = [];
export const pids = new Map<string, number>();
process.on('exit', () => { for (const child of children) child.kill('SIGKILL'); });

/** The middle value (the lower of the two middle ones for an even count); sorts `values`. */
export const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU time (user + system) a process has used so far, in milliseconds. */
export const cpuMsOfPid = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in 1/100 s
};
export const cpuMs = (name: string) => cpuMsOfPid(pids.get(name)!);
/** A process's resident memory, in MB. */
export const rssMbOfPid = (pid: number) => Math.round(Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);

/** A loopback port nothing listens on (for a process that must be polled before it says where it is). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts a process and returns what `parse` finds in its output (its first JSON line, or the
 * listen URL); with `prefix`, node runs under that command (valgrind: the pid stays node's).
 * The output goes to bench/logs/<name>.log, not through this process, so that the
 * service's request log costs the load generator nothing.
 */
export async function startProcess<T>(name: string, args: string[], env: Record<string, string>, parse: (stdout: string) => T | undefined, prefix?: { command: string; args: string[] }): Promise<T> {
  mkdirSync(projectFile('bench', 'logs'), { recursive: true });
  const logFile = projectFile('bench', 'logs', `${name}.log`);
  const output = openSync(logFile, 'w');
  const child = spawn(prefix?.command ?? process.execPath, prefix ? [...prefix.args, process.execPath, ...args] : args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', output, 'inherit'] });
  closeSync(output);
  children.push(child);
  pids.set(name, child.pid!);
  // Under valgrind a start takes minutes, not seconds.
  for (let i = 0; i < (prefix ? 6000 : 600); i++) {
    const stdout = readFileSync(logFile, 'utf8');
    const value = parse(stdout);
    if (value) return value;
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited: ${stdout}`);
    await sleep(50);
  }
  throw new Error(`${args.join(' ')} did not start`);
}
/** The first line of a process's output, parsed as the JSON object the process said it writes. */
export const firstJsonLine = <T>(stdout: string) => (stdout.includes('\n') ? (JSON.parse(stdout.split('\n')[0]!) as T) : undefined);
