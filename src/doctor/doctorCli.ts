// `npm run doctor`: checks a configuration end to end — settings, Entra discovery and keys, ACS,
// the database — and prints a checklist with the fix for each failure; exits 1 if any failed.
// `--read-only` writes nothing (ACS is then not checked); `--teams-sign-in` signs the operator in
// to check Teams' consent in each tenant. Reads `.env` as `npm run migrate` does.
// In local mode (no Azure setting) there is nothing to check: the service brings its own
// emulators and database; the doctor says so and exits 0.
import { existsSync } from 'node:fs';
import { AZURE_SETTINGS, isLocalMode } from '../config/localModeSwitch.js';
import { acsChecks } from './acsChecks.js';
import { runChecklist, type Check } from './checklist.js';
import { databaseChecks } from './databaseChecks.js';
import { entraChecks } from './entraChecks.js';
import { readDoctorSettings } from './settingsCheck.js';
import { operatorSignIn } from '../setup/operatorSignIn.js';
import { teamsChecks, TEAMS_SIGN_IN_FLAG } from './teamsCheck.js';

const write = (line: string) => { process.stdout.write(line); };

const ARGUMENTS = ['--read-only', TEAMS_SIGN_IN_FLAG, '--use-azure-cli'];
const unknown = process.argv.slice(2).filter((arg) => !ARGUMENTS.includes(arg));
if (unknown.length > 0) {
  process.stderr.write(`Unknown argument ${unknown.join(' ')}: the one argument is --read-only (and, to check Teams in each tenant, ${TEAMS_SIGN_IN_FLAG} [--use-azure-cli]).\n`);
  process.exit(1);
}
const readOnly = process.argv.includes('--read-only');
if (existsSync('.env')) process.loadEnvFile('.env');

if (isLocalMode(process.env)) {
  write(`– Local mode: no Azure setting (${AZURE_SETTINGS.join(', ')}) is set, so the service runs on its own emulators and an embedded database; there is nothing to check. Set a deployment's settings (see .env.example) to check them.\n`);
} else {
  const settings = readDoctorSettings(process.env);
  const database = databaseChecks(settings.database, settings.invalid.database);
  const checks: Check[] = [
    { group: 'Settings', timeoutMs: 1000, timeoutFix: 'see .env.example', run: async () => settings.outcomes },
    ...entraChecks(settings.auth, settings.invalid.auth),
    ...acsChecks(settings.acs, readOnly, settings.invalid.acs),
    ...database.checks,
    // The operator's sign-in (device code, or `az login`'s with --use-azure-cli): its prompt goes to stderr.
    ...teamsChecks(settings.auth, settings.invalid.auth, process.argv.includes(TEAMS_SIGN_IN_FLAG) ? () => operatorSignIn(process.env, process.argv.includes('--use-azure-cli')) : undefined, (message) => { process.stderr.write(`${message}\n`); }),
  ];
  const { failed, warned } = await runChecklist(checks, write);
  write(failed > 0 ? `\n${failed} check(s) failed${warned ? `, ${warned} warning(s)` : ''}.\n` : `\nAll checks passed${warned ? `, ${warned} warning(s)` : ''}.\n`);
  process.exitCode = failed > 0 ? 1 : 0;
  // A check that timed out may have left a request open (the pool's close waits for it too):
  // the doctor is done all the same, its verdict given.
  setTimeout(() => process.exit(), 1000).unref();
  await database.close().catch(() => undefined);
}
