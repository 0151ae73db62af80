// The demo page (/demo) in a real browser: Debian's Chromium driven by playwright-core, in
// local mode started by the test. Sign in as a user, see the identity, get an ACS token with
// its claims and a running countdown, see the credential refresh it (short-lived tokens from
// the ACS emulator: LOCAL_ACS_TOKEN_SECONDS), revoke, get a Teams token, delete and see the
// identity gone, a refusal (ACS down) shown as the service's problem title and detail, and a token
// after an idle pause longer than the database pool's idle timeout. Screenshots go
// to test/artifacts/ (git-ignored). Also: /demo is off in configured mode unless DEMO_ENABLED.
import { mkdirSync } from 'node:fs';
import t from 'tap';
import { projectFile } from '../src/projectFiles.js';
import { chromiumMissing, startLocalWithBrowser } from './helpers/localBrowser.js';
import { buildDemo } from '../scripts/buildDemo.js';
import { startTestService } from './helpers/testService.js';

await buildDemo();

t.test('configured mode: no /demo unless DEMO_ENABLED; then the page signs in with Entra ID', async (t) => {
  const off = await startTestService(t);
  t.equal((await off.app.inject({ url: '/demo/' })).statusCode, 404, 'off by default');

  const on = await startTestService(t, { DEMO_ENABLED: 'true' });
  const page = await on.app.inject({ url: '/demo/' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /text\/html/);
  t.match(page.headers['content-security-policy'], new RegExp(`connect-src 'self' ${on.entra.authorityHost}`));
  t.match(page.body, /<script src="app.js"><\/script>/, 'the bundle, from this origin (no CDN)');
  t.notMatch(page.body, /https?:\/\//, 'no outside URL in the page');
  const config = JSON.parse((await on.app.inject({ url: '/demo/config.json' })).body);
  t.same(config, { mode: 'entra', clientId: on.entra.clientId, authority: `${on.entra.authorityHost}/${on.entra.tenantId}`, scope: `api://${on.entra.clientId}/access_as_user` });
  t.equal((await on.app.inject({ url: '/demo/app.js' })).statusCode, 200);
  t.equal((await on.app.inject({ url: '/demo/../package.json' })).statusCode, 404);
  t.equal((await on.app.inject({ url: '/demo/secrets.txt' })).statusCode, 404);
  t.equal((await on.app.inject({ url: '/demo' })).headers.location, '/demo/');
});

if (chromiumMissing) {
  t.test('the demo in a browser', { skip: chromiumMissing }, () => {});
} else {
  t.test('the demo in a browser, local mode: the whole flow', async (t) => {
    const { local, browser, base } = await startLocalWithBrowser(t, { LOCAL_ACS_TOKEN_SECONDS: '8' });
    mkdirSync(projectFile('test', 'artifacts'), { recursive: true });
    const screenshot = (name: string) => page.screenshot({ path: projectFile('test', 'artifacts', `demo-${name}.png`), fullPage: true });

    // A phone's width: the page must be usable there.
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const blocked: string[] = [];
    page.on('console', (message) => { if (/Content Security Policy|Refused to/.test(message.text())) blocked.push(message.text()); });
    page.on('pageerror', (error) => blocked.push(error.message));
    await page.goto(`${base}/demo/`);

    // Keyboard only: the name field has its label, Enter submits.
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('User name').press('Enter');
    await page.getByRole('status').filter({ hasText: 'Signed in as alice' }).waitFor();
    const identity = page.locator('#identity-value');
    await identity.filter({ hasText: /^8:acs:|No ACS identity yet/ }).waitFor();

    await page.getByRole('button', { name: 'Get ACS token' }).click();
    await page.getByRole('status').filter({ hasText: 'ACS token received' }).waitFor();
    t.match(await identity.textContent(), /^8:acs:/, 'the identity is shown');
    t.match(await page.locator('#token-scopes').textContent(), /chat/, 'the scopes of the token');
    const countdown = page.locator('#token-countdown');
    const first = await countdown.textContent();
    t.match(first, /\d+ min \d+ s/, `a countdown: ${first}`);
    await page.waitForTimeout(1500);
    t.not(await countdown.textContent(), first, 'it runs');
    await screenshot('token');

    // The 8-second token is refreshed by the credential at half its life, through the service.
    await page.locator('#refreshes li').first().waitFor({ timeout: 15_000 });
    t.match(await page.locator('#refreshes li').first().textContent(), /Refreshed at/, 'the credential refreshed the token');
    await screenshot('refreshed');

    await page.getByRole('button', { name: 'Teams token' }).click();
    await page.getByRole('status').filter({ hasText: 'Teams token received' }).waitFor();
    t.match(await page.locator('#token-kind').textContent(), /Teams/);

    await page.getByRole('button', { name: 'Revoke tokens' }).click();
    await page.getByRole('status').filter({ hasText: 'revoked' }).waitFor();
    t.equal(await countdown.textContent(), 'revoked');

    await page.getByRole('button', { name: 'Delete my identity' }).click();
    await page.getByRole('status').filter({ hasText: 'deleted' }).waitFor();
    t.equal(await identity.textContent(), 'No ACS identity yet.', 'the identity is gone');
    t.ok(await page.getByRole('button', { name: 'Create identity' }).isVisible(), 'and can be created again');

    // A refusal: with ACS down, a new identity cannot be made; the page shows the service's
    // problem, its title and detail.
    local.acs.setOffline(true);
    await page.getByRole('button', { name: 'Get ACS token' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    t.equal(await alert.locator('#error-title').textContent(), '503 Service Unavailable', 'the problem\'s status and title');
    t.match(await alert.locator('#error-detail').textContent(), /ACS/, 'the problem\'s detail');
    t.equal(await alert.locator('#error-code').textContent(), 'acs_unavailable');
    await screenshot('refused');

    // An idle pause longer than the database pool's idle timeout (10 s), then a new identity:
    // the page must not meet a 503 (the one-session database lost track of its connection).
    local.acs.setOffline(false);
    await page.waitForTimeout(11_000);
    await page.getByRole('button', { name: 'Get ACS token' }).click();
    await page.getByRole('status').filter({ hasText: 'ACS token received' }).waitFor();
    t.match(await identity.textContent(), /^8:acs:/, 'a new identity after the idle pause');

    t.same(blocked, [], 'no script error, nothing blocked by the Content-Security-Policy');
    t.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, 'no sideways scrolling on a phone');
  });
}
