// Configuration: read from the environment once at start, validated, and turned into a typed,
// frozen object. Every variable is documented in .env.example. Each module owns its section
// (schema, type, parsing); this reads the environment and the NAME_FILE files, checks the
// whole schema at once and assembles the sections, so that every problem is named together.
import { acsSettings, missingAcsProblem } from '../acs/acsSettings.js';
import { adminSettings } from '../admin/adminSettings.js';
import { adminPacingSettings } from '../admin/adminPacing.js';
import { auditSettings } from '../audit/auditSettings.js';
import { allowedTenantsOf, authSettings } from '../auth/authSettings.js';
import { databaseSettings } from '../db/databaseSettings.js';
import { httpServerLimits } from '../httpServerLimits.js';
import { deletionSettings } from '../identities/deletionSettings.js';
import { metricsSettings } from '../plugins/metricsSettings.js';
import { overloadSettings } from '../plugins/overloadSettings.js';
import { pageSettings } from '../plugins/pageSettings.js';
import { rateLimitSettings } from '../plugins/rateLimitSettings.js';
import { parseTrustProxy } from '../trustProxy.js';
import { ConfigError, type Config } from './config.js';
import { configSchema, type ConfigEnv } from './configSchema.js';
import { readEnvironment } from './readEnvironment.js';
import { readSecretFiles } from './secretFiles.js';
import { serverSettings } from './serverSettings.js';

export function loadConfig(processEnv: NodeJS.ProcessEnv = process.env): Config {
  // `NAME=` (as in a copied .env.example) means "not set", not "set to nothing".
  const env: Record<string, string | undefined> = Object.fromEntries(Object.entries(processEnv).filter(([, value]) => value !== undefined && value !== ''));
  const problems: string[] = [];
  readSecretFiles(env, problems);
  const allowedTenants = allowedTenantsOf(env, problems);

  const schemaProblems: string[] = [];
  const raw = readEnvironment(configSchema, env, schemaProblems);
  if (schemaProblems.length > 0) {
    const missingAcs = missingAcsProblem(env);
    const named = [...schemaProblems, ...(missingAcs ? [missingAcs] : []), ...problems];
    throw new ConfigError([...named, ...sectionProblemsBeside(raw, env, allowedTenants, schemaProblems).filter((problem) => !named.includes(problem))]);
  }
  const config = assemble(raw, env, allowedTenants, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * The sections' own problems when the schema refused some variables: the sections still read
 * the others, so that one start names every problem. A refused variable is left out (unset),
 * and a problem that names it is dropped: the schema's line says what is wrong with it.
 */
function sectionProblemsBeside(raw: ConfigEnv, env: Record<string, string | undefined>, allowedTenants: string[], schemaProblems: string[]): string[] {
  const refused = [...new Set(schemaProblems.map((problem) => problem.split(' ')[0]!))];
  const rest: Record<string, unknown> = { ...raw };
  for (const name of refused) delete rest[name];
  const problems: string[] = [];
  try {
    assemble(rest as ConfigEnv, env, allowedTenants, problems);
  } catch {
    // A section that cannot be read without a refused variable: the problems found so far stand.
  }
  return problems.filter((problem) => !refused.some((name) => new RegExp(`\\b${name}\\b`).test(problem)));
}

/** The configuration from the checked environment; each section's own problems to `problems`. */
function assemble(raw: ConfigEnv, env: Record<string, string | undefined>, allowedTenants: string[], problems: string[]): Config {
  const production = env.NODE_ENV === 'production';
  const acs = acsSettings(raw, problems);
  const metrics = metricsSettings(raw, raw.HOST, production, problems);
  const audit = auditSettings(raw, production, problems);
  const trustProxy = parseTrustProxy(raw.TRUST_PROXY, problems);
  const server = serverSettings(raw, problems);
  const auth = authSettings(raw, allowedTenants, problems);
  if (raw.PROBE_PORT !== undefined && raw.PROBE_PORT !== 0 && (raw.PROBE_PORT === raw.PORT || raw.PROBE_PORT === raw.METRICS_PORT)) {
    problems.push(`PROBE_PORT (${raw.PROBE_PORT}) must be a port of its own, not PORT or METRICS_PORT`);
  }
  const http = httpServerLimits(raw, problems);
  const overload = overloadSettings(raw, problems);
  const pages = pageSettings(raw, problems);
  const database = databaseSettings(raw, problems);

  return Object.freeze({
    ...server,
    ...database,
    http,
    metrics,
    overload,
    rateLimits: rateLimitSettings(raw),
    trustProxy,
    ...pages,
    audit,
    deletions: deletionSettings(raw, acs.requestTimeoutMs),
    adminPacing: adminPacingSettings(raw),
    acs,
    auth,
    admin: adminSettings(raw, allowedTenants),
  });
}
