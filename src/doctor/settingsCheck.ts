// The doctor's settings: the service's own loadConfig decides whether the configuration is
// valid (one failed line per problem, with the variables to set). Each other check needs only
// its own section, read by that section's module as loadConfig reads it, so that a problem in
// one section does not stop the checks of the others; a check not run names its section's problems.
import { acsSettings, acsSettingsSchema, type AcsConfig } from '../acs/acsSettings.js';
import { allowedTenantsOf, authSettings, authSettingsSchema, type AuthConfig } from '../auth/authSettings.js';
import { ConfigError, CONFIG_VARIABLES, loadConfig } from '../config/index.js';
import { readEnvironment } from '../config/readEnvironment.js';
import { readSecretFiles, SECRET_FILE_VARIABLES } from '../config/secretFiles.js';
import { databaseSettings, databaseSettingsSchema, type DatabaseSettings } from '../db/databaseSettings.js';
import { describeError, fail, pass, type Outcome } from './checklist.js';

/** Each section, or undefined when its own settings are invalid; `invalid` says why, by section. */
export interface DoctorSettings {
  outcomes: Outcome[];
  acs: AcsConfig | undefined;
  auth: AuthConfig | undefined;
  database: DatabaseSettings | undefined;
  invalid: { acs: string[]; auth: string[]; database: string[] };
}

/** The variables a problem names, whole names only (PORT is not named by PROBE_PORT), in the order named. */
function variablesIn(problem: string): string[] {
  return CONFIG_VARIABLES
    .map((name) => ({ name, at: problem.search(new RegExp(`\\b${name}\\b`)) }))
    .filter(({ at }) => at >= 0)
    .sort((a, b) => a.at - b.at)
    .map(({ name }) => name);
}

export function fixFor(problem: string): string {
  const names = variablesIn(problem);
  if (names.length === 0) return 'see .env.example';
  // A setting given both ways: the service does not choose between them.
  if (/, not both$/.test(problem)) return `set only one of ${names.join(' / ')}`;
  const file = /^(\w+)_FILE \(.*\) cannot be read/.exec(problem);
  // Only a NAME_FILE secret stands for a NAME; another *_FILE (AZURE_AUTHORITY_CA_FILE) is a path of its own.
  if (file && SECRET_FILE_VARIABLES.includes(file[1]!)) return `make ${file[1]}_FILE name a file the service can read, or set ${file[1]} instead`;
  if (file) return `make ${file[1]}_FILE name a file the service can read`;
  return `set ${names.join(' / ')} in the environment or .env (see .env.example)`;
}

/**
 * A section read by its own module, with the problems of the NAME_FILE files of the variables
 * it reads (a variable given both ways, a file that cannot be read): the service refuses
 * those at start, so the section's checks must not run on what the doctor could read instead.
 */
function section<T>(variables: readonly string[], fileProblems: string[], read: (problems: string[]) => T): { value: T | undefined; problems: string[] } {
  const problems = fileProblems.filter((problem) => variablesIn(problem).some((name) => variables.includes(name.replace(/_FILE$/, ''))));
  try {
    const value = read(problems);
    return problems.length === 0 ? { value, problems } : { value: undefined, problems };
  } catch (error) {
    // A value the schema refused can make a section's module throw (a URL it cannot parse).
    return { value: undefined, problems: problems.length > 0 ? problems : [describeError(error)] };
  }
}

export function readDoctorSettings(processEnv: NodeJS.ProcessEnv): DoctorSettings {
  let problems: string[] = [];
  try {
    loadConfig(processEnv);
  } catch (error) {
    // Anything but a ConfigError would stop the service too: a line, not a stack.
    problems = error instanceof ConfigError ? [...error.problems] : [describeError(error)];
  }
  // As loadConfig reads them: `NAME=` is not set, NAME_FILE files are read.
  const env: Record<string, string | undefined> = Object.fromEntries(Object.entries(processEnv).filter(([, value]) => value !== undefined && value !== ''));
  const fileProblems: string[] = [];
  readSecretFiles(env, fileProblems);
  const acs = section(Object.keys(acsSettingsSchema.properties), fileProblems,
    (found) => acsSettings(readEnvironment(acsSettingsSchema, env, found), found));
  const auth = section(Object.keys(authSettingsSchema.properties), fileProblems, (found) => {
    const tenants = allowedTenantsOf(env, found);
    return authSettings(readEnvironment(authSettingsSchema, env, found), tenants, found);
  });
  // The database section also reads AZURE_CLIENT_SECRET, only to refuse a conflict with Entra sign-in:
  // its file's problems are Entra's and Teams', not a reason to leave the database unchecked.
  const database = section(Object.keys(databaseSettingsSchema.properties), fileProblems,
    (found) => databaseSettings({ ...readEnvironment(databaseSettingsSchema, env, found), AZURE_CLIENT_SECRET: env.AZURE_CLIENT_SECRET }, found));
  // Every problem a skipped check names is a Settings line too.
  for (const problem of [...acs.problems, ...auth.problems, ...database.problems]) if (!problems.includes(problem)) problems.push(problem);
  return {
    outcomes: problems.length === 0 ? [pass('every setting is valid')] : problems.map((problem) => fail(problem, fixFor(problem))),
    acs: acs.value,
    auth: auth.value,
    database: database.value,
    invalid: { acs: acs.problems, auth: auth.problems, database: database.problems },
  };
}
