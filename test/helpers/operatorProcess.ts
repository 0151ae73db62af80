// A command that signs the operator in with a device code (`npm run setup:entra`, the doctor's
// Teams check) as a real process, against the Entra ID and Graph emulators: each code it prints
// is entered, as the operator would in a browser, and the process runs to its end.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEntraEmulator, type EntraEmulator } from '../../emulators/entraEmulator.js';
import { startGraphEmulator, type GraphEmulator } from '../../emulators/graphEmulator.js';
import { projectFile } from '../../src/projectFiles.js';

interface Tap {
  teardown(fn: () => unknown): void;
}

export interface OperatorRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Device codes entered. */
  signIns: number;
}

export interface OperatorDirectory {
  entra: EntraEmulator;
  graph: GraphEmulator;
  /** What points a process at them: the authority (HTTPS, its certificate trusted) and Graph. */
  env: Record<string, string>;
}

/** The Entra ID emulator over HTTPS (MSAL refuses http://) and a Graph emulator that trusts its tokens. */
export async function startOperatorDirectory(t: Tap, graphOptions: { acsServicePrincipal?: boolean } = {}): Promise<OperatorDirectory> {
  const entra = await startEntraEmulator({ tls: true });
  const graph = await startGraphEmulator({ tenantId: entra.tenantId, publicKeys: () => entra.publicKeys(), ...graphOptions });
  t.teardown(async () => { await Promise.all([entra.close(), graph.close()]); });
  const caFile = join(mkdtempSync(join(tmpdir(), 'operator-ca-')), 'ca.pem');
  writeFileSync(caFile, entra.caCertificate!);
  return { entra, graph, env: { AZURE_AUTHORITY_HOST: entra.authorityHost, GRAPH_BASE_URL: graph.url, NODE_EXTRA_CA_CERTS: caFile } };
}

/** Runs `script` (a .ts file of the project, through tsx) with exactly `env` (plus PATH) to its end, in `cwd`. */
export async function runAsOperator(t: Tap, entra: EntraEmulator, script: string, args: string[], env: Record<string, string>, cwd = tmpdir()): Promise<OperatorRun> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), projectFile(script), ...args], {
    // Not the project folder by default: a developer's .env there must not leak into tests.
    cwd,
    env: { PATH: process.env.PATH, _TAPJS_PROCESSINFO_COVERAGE_: '0', ...env },
  });
  let stdout = '';
  let stderr = '';
  let signIns = 0;
  const entered = new Set<string>();
  const enterCodes = () => {
    for (const [, code] of `${stdout}\n${stderr}`.matchAll(/enter the code (\S+) to authenticate/g)) {
      if (!entered.has(code!)) { entered.add(code!); if (entra.approveDeviceCode(code!)) signIns++; }
    }
  };
  child.stdout.on('data', (chunk) => { stdout += chunk; enterCodes(); });
  child.stderr.on('data', (chunk) => { stderr += chunk; enterCodes(); });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); return exited; });
  const code = await exited;
  return { code, stdout, stderr, signIns };
}
