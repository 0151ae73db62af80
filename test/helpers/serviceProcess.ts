// The service as a real process (`node --import tsx src/server.ts`), as replicas run it: its
// own port, its own pools, signals. Used where one process is not enough: replicas racing,
// a replica killed mid-way, shutdown on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { projectFile } from '../../src/projectFiles.js';

export interface ServiceProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT once listening; undefined if it exited first. */
  url: string | undefined;
  output(): { stdout: string; stderr: string };
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

interface Tap {
  teardown(fn: () => unknown): void;
}

/**
 * Starts `script` (a .ts file of the project, through tsx) with exactly `env` (plus PATH) and
 * waits until it listens or exits (info logs needed). `built` starts a built .js script in a
 * folder of its own instead, as the container image does.
 */
export async function startServiceProcess(
  t: Tap, env: Record<string, string>, script = 'src/server.ts', built?: { cwd: string }, scriptArgs: string[] = [],
): Promise<ServiceProcess> {
  // The loader by its full URL: the child runs in another folder.
  const args = built ? [script, ...scriptArgs] : ['--import', import.meta.resolve('tsx'), projectFile(script), ...scriptArgs];
  const child = spawn(process.execPath, args, {
    // Not the project folder: a developer's .env there must not leak into tests.
    cwd: built?.cwd ?? tmpdir(),
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      // tap would record the child's coverage too, but tsx transpiles src/ differently from
      // tap's loader, and merging the two garbles the coverage report: the child records none.
      _TAPJS_PROCESSINFO_COVERAGE_: '0',
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); return exited; });

  let url: string | undefined;
  // tsx transpiles src/ before the child listens, slowly on a busy machine: files that start
  // processes give themselves a time budget of their own (README, Tests).
  const deadline = Date.now() + 90_000;
  while (!url && child.exitCode === null && Date.now() < deadline) {
    // A JSON line, or local mode's readable one.
    url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    if (!url) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, url, exited, output: () => ({ stdout, stderr }), kill: (signal = 'SIGTERM') => child.kill(signal) };
}
