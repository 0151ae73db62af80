// Local mode on a real port, and Debian's Chromium driven by playwright-core (never a
// downloaded browser), for the tests that use a page: Swagger UI and the demo.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { buildApp } from '../../src/app.js';
import { startLocalEnvironment } from '../../src/local/localMode.js';

const CHROMIUM = '/usr/bin/chromium';

/** Why a browser test cannot run here, or undefined when it can. */
export const chromiumMissing = existsSync(CHROMIUM)
  ? undefined
  : `Chromium is not installed at ${CHROMIUM} (.ci/run installs Debian's chromium), so the browser test cannot run`;

interface Tap {
  teardown(fn: () => unknown): void;
}

/** The local-mode service (in memory) at `base`, and a headless Chromium; both closed at teardown. */
export async function startLocalWithBrowser(t: Tap, env: Record<string, string> = {}) {
  const { chromium } = await import('playwright-core');
  const local = await startLocalEnvironment({ PGLITE_DATA_DIR: 'memory://', LOG_LEVEL: 'warn', ...env });
  const app = await buildApp(local.config, { localTokenIssuer: local.entra });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  t.teardown(async () => { await browser.close(); await app.close(); await local.close(); });
  return { local, app, browser, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}
