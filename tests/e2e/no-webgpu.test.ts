// The app in a browser that cannot run the engine: once with no WebGPU API at all (navigator.gpu is absent outside
// secure contexts, so the app is served under a plain-HTTP host name) and once with the API but no adapter
// (Chromium without its unsafe-WebGPU flag on a machine without a supported GPU). Both must show a page that says
// so and what to do, never the chat. Also proves the harness's offline guard: a request off the local server is
// blocked and recorded.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { INSECURE_HOST } from './support/browser-session';
import { useAppSession } from './support/use-app-session';


describe('no WebGPU API (navigator.gpu absent)', () => {
  const session = useAppSession({ webgpu: 'no-api' });

  it('really has no navigator.gpu, in the page and in a worker', async () => {
    const { page, appUrl } = session();
    expect(new URL(appUrl).hostname).toBe(INSECURE_HOST);
    expect(await page.evaluate(() => 'gpu' in navigator)).toBe(false);
    const inWorker = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const source = "postMessage('gpu' in navigator)";
          const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
          worker.onmessage = (event) => resolve(event.data);
        }),
    );
    expect(inWorker).toBe(false);
  });

  it('shows a page saying WebGPU is missing and how to get it, and no chat', async () => {
    const { page } = session();
    await expectNoWebGpuPage(page);
  });

  it('made no request off the local server', () => {
    expect(session().externalRequests).toEqual([]);
  });
});

describe('WebGPU API without an adapter', () => {
  const session = useAppSession({ webgpu: 'no-adapter' });

  it('has navigator.gpu but requestAdapter() gives no adapter', async () => {
    const { page } = session();
    expect(await page.evaluate(async () => (await navigator.gpu.requestAdapter()) === null)).toBe(true);
  });

  it('shows a page saying WebGPU is not usable here, and no chat', async () => {
    const { page } = session();
    await expectNoWebGpuPage(page);
  });

  it('blocks and records a request off the local server (the offline guard works)', async () => {
    const { page, externalRequests } = session();
    expect(externalRequests).toEqual([]);
    const fetched = await page.evaluate(() =>
      fetch('https://example.com/probe.json').then(
        (response) => `got ${response.status}`,
        (error: Error) => `failed: ${error.name}`,
      ),
    );
    expect(fetched).toBe('failed: TypeError');
    // The engine fetches from its Web Worker: requests from workers are caught too.
    const fetchedInWorker = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const source = "fetch('https://example.com/from-worker.json').then(r => postMessage('got ' + r.status), e => postMessage('failed: ' + e.name))";
          const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
          worker.onmessage = (event) => resolve(event.data);
        }),
    );
    expect(fetchedInWorker).toBe('failed: TypeError');
    expect(externalRequests).toEqual(['https://example.com/probe.json', 'https://example.com/from-worker.json']);
  });
});

/** The app's no-WebGPU page (app/components/NoWebGpu.tsx): what is missing, how to get it, and no chat at all. */
async function expectNoWebGpuPage(page: Page): Promise<void> {
  await page.getByRole('heading', { name: /how to get WebGPU/i }).waitFor();
  expect(await page.getByRole('heading', { level: 1 }).innerText()).toMatch(/cannot run .*WebGPU/i);
  expect(await page.locator('body').innerText()).toMatch(/enable-unsafe-webgpu/);
  expect(await page.getByTestId('chat-input').count()).toBe(0);
  expect(await page.getByTestId('send-button').count()).toBe(0);
}
