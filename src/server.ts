// Entry point: read the configuration (and ./.env when present), build the app, listen, and
// close gracefully on SIGTERM/SIGINT. With no Azure setting (and not in production) it runs in
// local mode, with its emulators and embedded database; with some but not all, or in
// production without them, it exits 1 naming each problem.
import { existsSync } from 'node:fs';
import closeWithGrace from 'close-with-grace';
import { IN_FLIGHT_GRACE_MS } from './plugins/lifecycle.js';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { AZURE_SETTINGS, isLocalMode } from './config/localModeSwitch.js';
import type { localBanner } from './local/localBanner.js';
import type { LocalEnvironment } from './local/localMode.js';

/**
 * Local mode's code, loaded only when local mode is on: a configured service never loads the
 * emulators, PGlite or selfsigned, which are development dependencies.
 */
async function loadLocalMode() {
  try {
    const [{ startLocalEnvironment }, { localBanner }] = await Promise.all([import('./local/localMode.js'), import('./local/localBanner.js')]);
    return { startLocalEnvironment, localBanner };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigError([`No Azure setting is set, so this is local mode, which needs the development dependencies: run npm install (a production install, npm ci --omit=dev or the container image, leaves them out), or set the Azure settings. ${(error as Error).message}`]);
  }
}

/** Why this configuration is not local mode, when that may be a surprise. */
function localModeNote(): string {
  const set = AZURE_SETTINGS.filter((name) => process.env[name]);
  if (process.env.NODE_ENV === 'production') return set.length === 0 ? '\nLocal mode (built-in emulators) is never used with NODE_ENV=production.\n' : '';
  // No Azure setting: local mode is on, and the error is its own.
  if (set.length === 0) return '';
  // A developer's shell often exports AZURE_TENANT_ID or AZURE_CLIENT_ID for other Azure tools.
  return `\nLocal mode (built-in emulators) is off because ${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set: unset ${set.length === 1 ? 'it' : 'them'} to run locally, or set the rest.\n`;
}

function exitWithConfigError(error: unknown): never {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n${localModeNote()}\nSee .env.example for every variable and its meaning.\n`);
  process.exit(1);
}

/** What to do when a port cannot be listened on (in use, not allowed, not this machine's address), or undefined. */
function listenProblem(error: unknown, config: Config): string | undefined {
  const { code, syscall, port, address } = error as NodeJS.ErrnoException & { port?: number; address?: string };
  // Only a listen's own failure: the start-up hooks that listen runs also connect to the database.
  if (syscall !== 'listen' || port === undefined) return undefined;
  const another = port < 65535 ? port + 1 : port - 1;
  const variable = port === config.metrics.port ? 'METRICS_PORT' : port === config.probePort ? 'PROBE_PORT' : 'PORT';
  const where = `Port ${port} on ${address ?? config.host}`;
  if (code === 'EADDRINUSE') return `${where} is in use by another process: stop it, or choose another port, e.g. ${variable}=${another}.`;
  if (code === 'EACCES') return `${where} may not be used by this user (ports below 1024 need privileges): choose another, e.g. ${variable}=${port + 3000}.`;
  if (code === 'EADDRNOTAVAIL') return `${address ?? config.host} is not an address of this machine: set HOST to one (0.0.0.0 for all, 127.0.0.1 for this machine only).`;
  return undefined;
}

if (existsSync('.env')) process.loadEnvFile('.env');
let local: LocalEnvironment | undefined;
let banner: typeof localBanner | undefined;
let config: Config;
try {
  if (isLocalMode(process.env)) {
    const localMode = await loadLocalMode();
    banner = localMode.localBanner;
    local = await localMode.startLocalEnvironment(process.env);
    config = local.config;
  } else {
    config = loadConfig();
  }
} catch (error) {
  exitWithConfigError(error);
}

const app = await buildApp(config, { localTokenIssuer: local?.entra, logStream: local?.logStream });
if (local) {
  const environment = local;
  app.addHook('onReady', () => environment.adoptStoredIdentities(app.pool));
}

closeWithGrace({ delay: config.shutdownDelayMs + IN_FLIGHT_GRACE_MS }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an uncaught error');
  else app.log.info({ signal, delayMs: config.shutdownDelayMs }, 'closing');
  try {
    await app.shutdown(err ? 0 : config.shutdownDelayMs);
  } finally {
    // Local mode's emulators and embedded database go last: the app's own closing (the audit
    // trail's last flush, pending deletions) still needs them.
    await local?.close();
  }
});

try {
  await app.listen({ port: config.port, host: config.host });
} catch (error) {
  const problem = listenProblem(error, config);
  if (problem === undefined) throw error;
  process.stderr.write(`${problem}\n`);
  // Closed for the emulators' and the database's sake; exit 1 whatever that meets.
  await app.close().catch(() => undefined);
  await local?.close().catch(() => undefined);
  process.exit(1);
}
if (local && banner) {
  const { port } = app.server.address() as { port: number };
  process.stdout.write(banner({ port, host: config.host, entra: local.entra.authorityHost, acs: local.acs.endpoint, storage: local.storage, kept: local.kept }));
}
