// The installable offline app (issue 5, PWA) in real headless Chromium on the built app: Chromium finds the web app
// manifest installable (CDP Page.getAppManifest / Page.getInstallabilityErrors); the first visit registers the
// service worker, which controls the page before the engine worker starts, and loads the default bundled model
// (its shards land in the service worker's models cache); then the local server is stopped — nothing answers on
// its port any more — and a reload opens the app from the precache, loads the model from the cache and chats.
// Until models are downloaded into IndexedDB, the bundled model's offline bytes come from that runtime cache.
import { describe, expect, it } from 'vitest';
import { assistantTexts, byTestId, sendMessage, setMaxNewTokens, waitForAnswerDone, waitForModelReady } from './support/chat-page';
import { useAppSession } from './support/use-app-session';

const ANSWER_TOKENS = 6;

describe('offline PWA', () => {
  const session = useAppSession();

  it('has a web app manifest that Chromium deems installable', async () => {
    const { page, context } = session();
    // The service worker must be active for the installability check to see the whole app.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    const cdp = await context.newCDPSession(page);
    const manifest = (await cdp.send('Page.getAppManifest')) as { url: string; errors: { message: string }[]; data: string };
    expect(manifest.errors).toEqual([]);
    expect(manifest.url).toMatch(/manifest\.webmanifest$/);
    const parsed = JSON.parse(manifest.data) as { display: string; icons: { sizes: string; purpose?: string }[] };
    expect(parsed.display).toBe('standalone');
    expect(parsed.icons.map((icon) => `${icon.sizes} ${icon.purpose ?? 'any'}`).sort()).toEqual(['192x192 any', '512x512 any', '512x512 maskable']);
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
    expect(installabilityErrors.map((error) => error.errorId)).toEqual([]);
    await cdp.detach();
  });

  it('first visit: the service worker controls the page and the default model loads into its cache', async () => {
    const { page } = session();
    expect(await waitForModelReady(page)).toMatch(/ready/i);
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null)).toMatch(/\/sw\.js$/);
    const cached = await page.evaluate(async () => {
      const precached = (await Promise.all((await caches.keys()).map(async (name) => (await (await caches.open(name)).keys()).map((r) => r.url)))).flat();
      return precached.map((url) => new URL(url).pathname);
    });
    expect(cached).toContain('/index.html');
    expect(cached.some((path) => /^\/assets\/worker-.*\.js$/.test(path))).toBe(true);
    expect(cached.some((path) => /^\/models\/[^/]+\/shard-\d+\.bin$/.test(path))).toBe(true);
    expect(cached.some((path) => path.endsWith('.wasm'))).toBe(false);
  });

  it('with the server stopped, a reload opens the app, loads the model from the cache and chats', async () => {
    const s = session();
    await s.server.close();
    // The network really is gone: a file the service worker does not cache cannot be fetched any more.
    const uncached = await s.page.evaluate((url) => fetch(url).then((r) => `HTTP ${r.status}`, () => 'failed'), `${s.appUrl}not-cached.txt`);
    expect(uncached).toBe('failed');
    await s.reload();
    await byTestId(s.page, 'chat-input').waitFor();
    expect(await waitForModelReady(s.page)).toMatch(/ready/i);
    await setMaxNewTokens(s.page, ANSWER_TOKENS);
    await sendMessage(s.page, 'What does cat mean?');
    await waitForAnswerDone(s.page);
    const answers = await assistantTexts(s.page);
    expect(answers.at(-1)!.trim().length).toBeGreaterThan(0);
    console.log(`offline answer: ${JSON.stringify(answers.at(-1))}`);
    // onnxruntime's wasm was never fetched, online or offline: nothing the app uses references it.
    expect([...s.server.bytesSent.keys()].filter((path) => path.endsWith('.wasm'))).toEqual([]);
    expect(s.externalRequests).toEqual([]);
  });
});
