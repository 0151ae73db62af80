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
 * the others, so that one start names every problem. A refused variable takes its schema
 * default (or is left unset), each section is read on its own (one that cannot be read without a
 * refused variable does not stop the next), and a problem that names a refused variable is
 * dropped: the schema's line says what is wrong with it.
 */
function sectionProblemsBeside(raw: ConfigEnv, env: Record<string, string | undefined>, allowedTenants: string[], schemaProblems: string[]): string[] {
  const refused = [...new Set(schemaProblems.map((problem) => problem.split(' ')[0]!))];
  const rest: Record<string, unknown> = { ...raw };
  for (const name of refused) {
    const fallback = (configSchema.properties as Record<string, { default?: unknown } | undefined>)[name]?.default;
    if (fallback === undefined) delete rest[name];
    else rest[name] = fallback;
  }
  const problems: string[] = [];
  assemble(rest as ConfigEnv, env, allowedTenants, problems, (read) => {
    try {
      return read();
    } catch {
      // A section that cannot be read without a refused variable: the others still are.
      return undefined as never;
    }
  });
  return problems.filter((problem) => !refused.some((name) => new RegExp(`\\b${name}\\b`).test(problem)));
}

type SectionReader = <T>(read: () => T) => T;

/**
 * The configuration from the checked environment; each section's own problems to `problems`.
 * `section` reads each one (sectionProblemsBeside reads them each on its own).
 */
function assemble(raw: ConfigEnv, env: Record<string, string | undefined>, allowedTenants: string[], problems: string[], section: SectionReader = (read) => read()): Config {
  const production = env.NODE_ENV === 'production';
  const acs = section(() => acsSettings(raw, problems));
  const metrics = section(() => metricsSettings(raw, raw.HOST, production, problems));
  const audit = section(() => auditSettings(raw, production, problems));
  const trustProxy = section(() => parseTrustProxy(raw.TRUST_PROXY, problems));
  const server = section(() => serverSettings(raw, problems));
  const auth = section(() => authSettings(raw, allowedTenants, problems));
  if (raw.PROBE_PORT !== undefined && raw.PROBE_PORT !== 0 && (raw.PROBE_PORT === raw.PORT || raw.PROBE_PORT === raw.METRICS_PORT)) {
    problems.push(`PROBE_PORT (${raw.PROBE_PORT}) must be a port of its own, not PORT or METRICS_PORT`);
  }
  if (raw.METRICS_PORT !== undefined && raw.METRICS_PORT !== 0 && raw.METRICS_PORT === raw.PORT) {
    problems.push(`METRICS_PORT (${raw.METRICS_PORT}) must be a port of its own, not PORT (leave it unset to serve /metrics on PORT)`);
  }
  const http = section(() => httpServerLimits(raw, problems));
  const overload = section(() => overloadSettings(raw, problems));
  const pages = section(() => pageSettings(raw, problems));
  const database = section(() => databaseSettings(raw, problems));

  return Object.freeze({
    ...server,
    ...database,
    http,
    metrics,
    overload,
    rateLimits: section(() => rateLimitSettings(raw)),
    trustProxy,
    ...pages,
    audit,
    deletions: section(() => deletionSettings(raw, acs.requestTimeoutMs)),
    adminPacing: section(() => adminPacingSettings(raw)),
    acs,
    auth,
    admin: section(() => adminSettings(raw, allowedTenants)),
  });
}
