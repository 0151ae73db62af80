// A stand-in for the Azure CLI's `az`, for the commands that sign in with `--use-azure-cli`:
// @azure/identity's AzureCliCredential runs `az account get-access-token --output json
// --resource <resource> [--tenant <id>]` through a shell and reads accessToken and
// expires_on (or expiresOn) from its stdout. This `az` answers only that, for one resource,
// with a token the test minted from the Entra ID emulator, or as `az` does when no one is
// signed in; it records each call's arguments.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

interface Tap {
  teardown(fn: () => unknown): void;
}

export interface AzureCli {
  /** PATH with this `az` first. */
  path: string;
  /** The arguments of each call, in order. */
  calls(): string[][];
}

export type AzureCliAnswer = { accessToken: string } | { loggedOut: true };

export function standInAzureCli(t: Tap, resource: string, answer: AzureCliAnswer): AzureCli {
  const folder = mkdtempSync(join(tmpdir(), 'azure-cli-'));
  t.teardown(() => { rmSync(folder, { recursive: true, force: true }); });
  const callsFile = join(folder, 'calls.jsonl');
  let reply: string;
  if ('accessToken' in answer) {
    const { exp } = JSON.parse(Buffer.from(answer.accessToken.split('.')[1]!, 'base64url').toString()) as { exp: number };
    // The shape of `az account get-access-token --output json` since Azure CLI 2.54.
    const output = { accessToken: answer.accessToken, expiresOn: new Date(exp * 1000).toISOString().replace('T', ' ').replace('Z', '000'), expires_on: exp, tokenType: 'Bearer' };
    reply = `process.stdout.write(${JSON.stringify(JSON.stringify(output, null, 2))} + '\\n');`;
  } else {
    reply = `process.stderr.write("ERROR: Please run 'az login' to setup account.\\n"); process.exitCode = 1;`;
  }
  writeFileSync(join(folder, 'az'), [
    `#!${process.execPath}`,
    `const args = process.argv.slice(2);`,
    `require('node:fs').appendFileSync(${JSON.stringify(callsFile)}, JSON.stringify(args) + '\\n');`,
    `const value = (name) => args[args.indexOf(name) + 1];`,
    `if (args[0] !== 'account' || args[1] !== 'get-access-token' || value('--output') !== 'json' || value('--resource') !== ${JSON.stringify(resource)}) {`,
    `  process.stderr.write('ERROR: this stand-in answers only account get-access-token --output json --resource ${resource}, not: ' + args.join(' ') + '\\n');`,
    `  process.exit(2);`,
    `}`,
    reply,
    '',
  ].join('\n'));
  chmodSync(join(folder, 'az'), 0o755);
  return {
    path: [folder, process.env.PATH].filter(Boolean).join(delimiter),
    calls: () => existsSync(callsFile) ? readFileSync(callsFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as string[]) : [],
  };
}
