// Entry point: read the configuration (and ./.env when present), build the app, listen, and
// close gracefully on SIGTERM/SIGINT. A bad configuration exits 1 naming each problem.
import { existsSync } from 'node:fs';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';

const SHUTDOWN_GRACE_MS = 10_000;

function readConfig(): Config {
  if (existsSync('.env')) process.loadEnvFile('.env');
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n\nSee .env.example for every variable and its meaning.\n`);
    process.exit(1);
  }
}

const config = readConfig();
const app = await buildApp(config);

closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an uncaught error');
  else app.log.info({ signal }, 'closing');
  await app.close();
});

// Timeouts set on purpose: a slow client cannot hold a connection forever, and idle
// keep-alive connections outlive a typical load balancer's (so it closes them first).
app.server.requestTimeout = 30_000;
app.server.headersTimeout = 10_000;
app.server.keepAliveTimeout = 72_000;

await app.listen({ port: config.port, host: config.host });
