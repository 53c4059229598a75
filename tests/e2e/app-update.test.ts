// A new app version deployed while a page is open (issue 5, PWA): the built app is copied to a folder of its own and
// served from there; after the first visit (the service worker installs and takes control, no notice), sw.js on the
// server changes as a deployment changes it, the page's registration checks for an update, the new worker installs
// and takes over at once (app/sw.ts skips waiting), and the page shows the APP_UPDATED banner with a Reload button;
// the reload brings the app back with its model.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtApp } from './support/app-build';
import { openAppSession, type AppSession } from './support/browser-session';
import { waitForModelReady } from './support/chat-page';
import { waitForBanner } from './support/download-page';

describe('a new app version while the page is open', () => {
  let appDir = '';
  let session: AppSession | undefined;
  beforeAll(async () => {
    appDir = await mkdtemp(join(tmpdir(), 'e2e-app-update-'));
    await cp(await builtApp(), appDir, { recursive: true });
    session = await openAppSession(appDir);
  });
  afterAll(async () => {
    await session?.close();
    if (appDir) await rm(appDir, { recursive: true, force: true });
  });

  it('first visit: the service worker takes control without an update notice', async () => {
    const { page } = session!;
    await waitForModelReady(page);
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)).toMatch(/\/sw\.js$/);
    expect(await page.locator('[data-testid="error-banner"]').count()).toBe(0);
  });

  it('shows APP_UPDATED when a new service worker takes over, and Reload brings the app back', async () => {
    const { page } = session!;
    const sw = join(appDir, 'sw.js');
    await writeFile(sw, `${await readFile(sw, 'utf8')}\n// deployed again\n`);
    await page.evaluate(async () => { await (await navigator.serviceWorker.getRegistration())?.update(); });
    const message = await waitForBanner(page, 'APP_UPDATED');
    console.log(`update banner: ${message}`);
    expect(message).toMatch(/new version/);
    await Promise.all([
      page.waitForEvent('load'), // the reload's new document, not the current one
      page.locator('[data-testid="error-banner"] button', { hasText: 'Reload' }).click(),
    ]);
    await waitForModelReady(page);
    expect(await page.locator('[data-testid="error-banner"][data-code="APP_UPDATED"]').count()).toBe(0);
  });
});
