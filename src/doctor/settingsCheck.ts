// The doctor's settings: the service's own loadConfig decides whether the configuration is
// valid (one failed line per problem, with the variables to set). Each other check needs only
// its own section, read by that section's module as loadConfig reads it, so that a problem in
// one section does not stop the checks of the others.
import { acsSettings, acsSettingsSchema, type AcsConfig } from '../acs/acsSettings.js';
import { allowedTenantsOf, authSettings, authSettingsSchema, type AuthConfig } from '../auth/authSettings.js';
import { ConfigError, CONFIG_VARIABLES, loadConfig } from '../config/index.js';
import { readEnvironment } from '../config/readEnvironment.js';
import { readSecretFiles } from '../config/secretFiles.js';
import { databaseSettings, databaseSettingsSchema, type DatabaseSettings } from '../db/databaseSettings.js';
import { describeError, fail, pass, type Outcome } from './checklist.js';

/** Each section, or undefined when its own settings are invalid (the Settings lines say why). */
export interface DoctorSettings {
  outcomes: Outcome[];
  acs: AcsConfig | undefined;
  auth: AuthConfig | undefined;
  database: DatabaseSettings | undefined;
}

/** The variables a problem names, longest first (ACS_CONNECTION_STRING_FILE before ACS_CONNECTION_STRING). */
function variablesIn(problem: string): string[] {
  const named = [...CONFIG_VARIABLES].sort((a, b) => b.length - a.length).filter((name) => new RegExp(`\\b${name}\\b`).test(problem));
  return named.filter((name) => !named.some((other) => other !== name && other.includes(name)));
}

export function fixFor(problem: string): string {
  const names = variablesIn(problem);
  return names.length > 0 ? `set ${names.join(' / ')} in the environment or .env (see .env.example)` : 'see .env.example';
}

/** A section read by its own module; undefined if it has problems of its own. */
function section<T>(read: (problems: string[]) => T): T | undefined {
  const problems: string[] = [];
  try {
    const value = read(problems);
    return problems.length === 0 ? value : undefined;
  } catch {
    // A value the schema refused can make a section's module throw (a URL it cannot parse).
    return undefined;
  }
}

export function readDoctorSettings(processEnv: NodeJS.ProcessEnv): DoctorSettings {
  let outcomes: Outcome[];
  try {
    loadConfig(processEnv);
    outcomes = [pass('every setting is valid')];
  } catch (error) {
    // Anything but a ConfigError would stop the service too: a line, not a stack.
    outcomes = error instanceof ConfigError ? error.problems.map((problem) => fail(problem, fixFor(problem))) : [fail(describeError(error), 'see .env.example')];
  }
  // As loadConfig reads them: `NAME=` is not set, NAME_FILE files are read.
  const env: Record<string, string | undefined> = Object.fromEntries(Object.entries(processEnv).filter(([, value]) => value !== undefined && value !== ''));
  readSecretFiles(env, []);
  return {
    outcomes,
    acs: section((problems) => acsSettings(readEnvironment(acsSettingsSchema, env, problems), problems)),
    auth: section((problems) => {
      const tenants = allowedTenantsOf(env, problems);
      return authSettings(readEnvironment(authSettingsSchema, env, problems), tenants, problems);
    }),
    database: section((problems) => databaseSettings({ ...readEnvironment(databaseSettingsSchema, env, problems), AZURE_CLIENT_SECRET: env.AZURE_CLIENT_SECRET }, problems)),
  };
}
