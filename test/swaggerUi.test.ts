// Swagger UI (/docs) in a real browser: Debian's Chromium driven by playwright-core. The page
// loads under its Content-Security-Policy, lists the operations, and "Try it out" on getToken
// with a local-mode user token answers 200. A screenshot is left in test/artifacts/.
import { mkdirSync } from 'node:fs';
import t from 'tap';
import { projectFile } from '../src/projectFiles.js';
import { chromiumMissing, startLocalWithBrowser } from './helpers/localBrowser.js';

if (chromiumMissing) {
  t.test('Swagger UI in a browser', { skip: chromiumMissing }, () => {});
} else {
  const { app, browser, base } = await startLocalWithBrowser(t);

  t.test('the page lists the operations, and Try it out on getToken answers 200', async (t) => {
    const token = JSON.parse((await app.inject({ url: '/local/token?user=swagger' })).body).token as string;
    const page = await browser.newPage();
    const blocked: string[] = [];
    page.on('console', (message) => { if (/Content Security Policy|Refused to/.test(message.text())) blocked.push(message.text()); });
    await page.goto(`${base}/docs/`, { waitUntil: 'networkidle' });
    // Swagger UI renders after the network is idle: wait for the operations to be there.
    await page.locator('[id$="-getToken"]').first().waitFor({ timeout: 15_000 });

    for (const operationId of ['getToken', 'getUser', 'createUser', 'deleteUser', 'revokeTokens', 'exchangeTeamsToken']) {
      t.ok(await page.locator(`[id$="-${operationId}"]`).count(), `lists ${operationId}`);
    }

    await page.click('button.authorize');
    await page.fill('.auth-container input', token);
    await page.click('.auth-btn-wrapper button.authorize');
    await page.click('.auth-btn-wrapper button.btn-done');

    const operation = page.locator('[id$="-getToken"]');
    await operation.locator('.opblock-summary').click();
    await operation.locator('button.try-out__btn').click();
    await operation.locator('button.execute').click();
    const status = operation.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor({ timeout: 15_000 });
    t.equal((await status.textContent())?.trim(), '200', 'getToken answered 200 in the browser');
    t.match(await operation.locator('.live-responses-table tbody .response-col_description').first().textContent(), /communicationUserId/);
    t.same(blocked, [], 'nothing blocked by the Content-Security-Policy');

    mkdirSync(projectFile('test', 'artifacts'), { recursive: true });
    await operation.locator('.live-responses-table').first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: projectFile('test', 'artifacts', 'swagger-ui.png') });
  });
}
