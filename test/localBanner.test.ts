// Local mode's banner says what is kept across a restart only where it is: with the data on disk
// (the default, .data/), not with PGLITE_DATA_DIR=memory://. What it is given comes from a real
// local environment, as server.ts hands it over.
import t from 'tap';
import { localBanner } from '../src/local/localBanner.js';
import { startLocalEnvironment } from '../src/local/localMode.js';

t.setTimeout(240_000);

async function bannerFor(env: NodeJS.ProcessEnv): Promise<string> {
  const local = await startLocalEnvironment({ LOG_LEVEL: 'silent', ...env });
  try {
    return localBanner({ port: 3000, host: local.config.host, entra: local.entra.authorityHost, acs: local.acs.endpoint, storage: local.storage, kept: local.kept });
  } finally {
    await local.close();
  }
}

t.test('data on disk: users are kept across restarts', async (t) => {
  const dataDir = t.testdir({});
  const banner = await bannerFor({ PGLITE_DATA_DIR: dataDir });
  t.match(banner, /Database +embedded PostgreSQL \(PGlite\), data in /);
  t.match(banner, /kept across restarts/);
});

t.test('PGLITE_DATA_DIR=memory://: nothing is said to be kept', async (t) => {
  const banner = await bannerFor({ PGLITE_DATA_DIR: 'memory://' });
  t.match(banner, /Database +embedded PostgreSQL \(PGlite\), in memory only/);
  t.notMatch(banner, /kept across restarts/);
  t.match(banner, /forgotten when the service stops/);
});
