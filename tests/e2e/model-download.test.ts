// Models downloaded into IndexedDB in real Chromium (real IndexedDB, SwiftShader WebGPU), against the built app and
// the local server, which also serves the trained default package under /remote/dictionary-chat/ as "a package by
// URL" and injects faults: the bundled model goes through the download path and is listed as stored; a quota too
// small (navigator.storage.estimate shrunk by an init script) is QUOTA; a connection cut in the middle of the
// shard, then a reload, resumes from the last stored chunk (the server's byte count shows only the rest fetched
// again); the model loaded by URL chats; a shard served damaged once is fetched again and loads, damaged twice is
// INTEGRITY naming the shard; a download paused mid-shard resumes from its stored chunks, a cancelled one is
// deleted; a server that ignores Range on resume gets the shard started over; a package picked as a folder is
// copied in and loads.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { assistantTexts, byTestId, sendMessage, setMaxNewTokens, waitForAnswerDone, waitForModelReady, waitForSaved } from './support/chat-page';
import { dismissBanner, loadByUrl, storedModels, waitForBanner, waitForStored } from './support/download-page';
import { useAppSession } from './support/use-app-session';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const REMOTE = '/remote/dictionary-chat/';
const SHARD_PATH = `${REMOTE}shard-00000.bin`;
const CHUNK = 4 * 1024 * 1024; // engine/download/model-store.ts CHUNK_BYTES
const CUT_AFTER = 10 * 1024 * 1024; // two and a half chunks
const TINY_QUOTA_FLAG = 'e2e-tiny-quota';

/** The stored record of model `id`, read from the app's IndexedDB in the page. */
async function storedRecord(page: Page, id: string): Promise<{ complete: boolean; shards: Record<string, { bytes: number; verified: boolean }> } | null> {
  return page.evaluate((key) => new Promise((resolve, reject) => {
    const open = indexedDB.open('deepseek-webgpu-models');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const get = open.result.transaction('packages').objectStore('packages').get(key);
      get.onsuccess = () => { open.result.close(); resolve(get.result ?? null); };
      get.onerror = () => reject(get.error);
    };
  }), `model:${id}:record`);
}

describe('models downloaded into IndexedDB', () => {
  const session = useAppSession({ mounts: { [REMOTE]: join(repoRoot, 'public', 'models', 'deepseek-v32-dictionary-chat') } });
  const packageUrl = () => `${session().server.origin}${REMOTE}`;
  let shardBytes = 0;

  it('downloads the bundled default model into IndexedDB, loads it from there and lists it as stored', async () => {
    const { page, server } = session();
    await waitForModelReady(page);
    const [bundled] = await storedModels(page);
    expect(bundled?.complete).toBe(true);
    expect(bundled?.size).toMatch(/^\d+\.\d MB$/);
    const record = await storedRecord(page, bundled!.id);
    shardBytes = Object.values(record!.shards).reduce((sum, shard) => sum + shard.bytes, 0);
    expect(server.bytesSent.get(`/models/${bundled!.id}/shard-00000.bin`)).toBe(shardBytes);
    expect(await byTestId(page, 'storage-persisted').innerText()).toMatch(/^Storage: (persistent|best effort)/);
  });

  it('refuses a download that does not fit the quota with QUOTA, saying the bytes needed and available', async () => {
    const { page, context } = session();
    await context.addInitScript((flag) => {
      if (sessionStorage.getItem(flag)) navigator.storage.estimate = async () => ({ quota: 2_000_000, usage: 1_000_000 });
    }, TINY_QUOTA_FLAG);
    await page.evaluate((flag) => sessionStorage.setItem(flag, '1'), TINY_QUOTA_FLAG);
    await session().reload();
    await waitForModelReady(page); // stored: no quota needed
    await loadByUrl(page, packageUrl());
    const message = await waitForBanner(page, 'QUOTA');
    console.log(`QUOTA banner: ${message}`);
    expect(message).toMatch(/needs [\d.]+ MB \((\d+) bytes\) more storage.*only 1\.0 MB \(1000000 bytes\) more/);
    expect(Number(/\((\d+) bytes\) more storage/.exec(message)![1])).toBeGreaterThan(shardBytes);
    expect(session().server.bytesSent.get(SHARD_PATH) ?? 0).toBe(0);
    await page.evaluate((flag) => sessionStorage.removeItem(flag), TINY_QUOTA_FLAG);
  });

  it('resumes a shard cut off mid-download after a reload, fetching only the bytes after its last stored chunk', async () => {
    const { page, server } = session();
    await session().reload();
    await waitForModelReady(page);
    server.faults.set(SHARD_PATH, [{ kind: 'cut', afterBytes: CUT_AFTER }]);
    await loadByUrl(page, packageUrl());
    const message = await waitForBanner(page, 'NETWORK');
    console.log(`cut: ${message}`);
    expect(server.bytesSent.get(SHARD_PATH)).toBe(CUT_AFTER);
    const partial = await storedRecord(page, packageUrl());
    const stored = partial!.shards['shard-00000.bin']!.bytes;
    expect(partial!.complete).toBe(false);
    expect(stored % CHUNK).toBe(0); // whole chunks only
    expect(stored).toBeGreaterThan(CUT_AFTER - CHUNK); // what arrived was kept: less than a chunk lost
    await waitForSaved(page); // the choice of this model is stored: the reload opens it
    server.bytesSent.clear();
    await session().reload();
    await waitForModelReady(page);
    const fetchedAgain = server.bytesSent.get(SHARD_PATH)!;
    const shardSize = (await storedRecord(page, packageUrl()))!.shards['shard-00000.bin']!.bytes;
    console.log(`resume: cut after ${CUT_AFTER} of ${shardSize} bytes, ${stored} stored, ${fetchedAgain} fetched again`);
    expect(fetchedAgain).toBe(shardSize - stored);
    expect(fetchedAgain).toBeLessThan(CHUNK + (shardSize - CUT_AFTER));
    expect((await storedRecord(page, packageUrl()))!.complete).toBe(true);
  });

  it('chats with the model loaded by URL', async () => {
    const { page } = session();
    expect(await byTestId(page, 'model-select').inputValue()).toBe(packageUrl());
    await setMaxNewTokens(page, 6);
    await sendMessage(page, 'What does serendipity mean?');
    await waitForAnswerDone(page);
    const [answer] = await assistantTexts(page);
    console.log(`answer from the URL model: ${answer}`);
    expect(answer!.trim().length).toBeGreaterThan(0);
  });

  it('fetches a shard that arrived damaged once more and loads the model', async () => {
    const { page, server } = session();
    await page.locator(`[data-testid="stored-model"][data-model-id="${packageUrl()}"] [data-testid="stored-model-delete"]`).click();
    await page.waitForFunction((id) => !document.querySelector(`[data-testid="stored-model"][data-model-id="${id}"]`), packageUrl());
    server.bytesSent.clear();
    server.faults.set(SHARD_PATH, [{ kind: 'corrupt', at: 123_457 }]);
    await loadByUrl(page, packageUrl());
    await waitForStored(page, packageUrl(), true); // listed again once its load has ended
    await waitForModelReady(page);
    const size = (await storedRecord(page, packageUrl()))!.shards['shard-00000.bin']!.bytes;
    expect(server.bytesSent.get(SHARD_PATH)).toBe(2 * size);
  });

  it('fails with INTEGRITY naming the shard when it arrives damaged twice, keeping nothing of it', async () => {
    const { page, server } = session();
    await page.locator(`[data-testid="stored-model"][data-model-id="${packageUrl()}"] [data-testid="stored-model-delete"]`).click();
    await page.waitForFunction((id) => !document.querySelector(`[data-testid="stored-model"][data-model-id="${id}"]`), packageUrl());
    server.faults.set(SHARD_PATH, [{ kind: 'corrupt', at: 5 }, { kind: 'corrupt', at: 20_000_000 }]);
    await loadByUrl(page, packageUrl());
    const message = await waitForBanner(page, 'INTEGRITY');
    console.log(`INTEGRITY banner: ${message}`);
    expect(message).toMatch(/shard-00000\.bin/);
    // The engine unloads a model only once the next package is stored: the one loaded before is shown ready again.
    expect(await byTestId(page, 'model-status').getAttribute('class')).toMatch(/status-ready/);
    const record = await storedRecord(page, packageUrl());
    expect(record!.complete).toBe(false);
    expect(record!.shards['shard-00000.bin']).toEqual({ chunks: 0, bytes: 0, verified: false });
    await dismissBanner(page);
  });

  it('pauses a download mid-shard, resumes it from the stored chunks, and Cancel deletes a partial download', async () => {
    const { page, server } = session();
    const storedBytes = async () => (await storedRecord(page, packageUrl()))?.shards['shard-00000.bin']?.bytes ?? 0;
    const waitForStoredBytes = async (bytes: number) => {
      while ((await storedBytes()) < bytes) await page.waitForTimeout(100);
    };
    server.faults.set(SHARD_PATH, [{ kind: 'stall', afterBytes: CUT_AFTER }]);
    await loadByUrl(page, packageUrl());
    await waitForStoredBytes(2 * CHUNK);
    await byTestId(page, 'download-pause').click();
    await byTestId(page, 'download-resume').waitFor();
    expect(await byTestId(page, 'model-status').innerText()).toMatch(/Download paused at/);
    expect(await storedBytes()).toBe(2 * CHUNK);
    server.bytesSent.clear();
    await byTestId(page, 'download-resume').click();
    await waitForStored(page, packageUrl(), true);
    await waitForModelReady(page);
    const size = await storedBytes();
    expect(server.bytesSent.get(SHARD_PATH)).toBe(size - 2 * CHUNK);

    await page.locator(`[data-testid="stored-model"][data-model-id="${packageUrl()}"] [data-testid="stored-model-delete"]`).click();
    await page.waitForFunction((id) => !document.querySelector(`[data-testid="stored-model"][data-model-id="${id}"]`), packageUrl());
    server.faults.set(SHARD_PATH, [{ kind: 'stall', afterBytes: CUT_AFTER }]);
    await loadByUrl(page, packageUrl());
    await waitForStoredBytes(2 * CHUNK);
    await byTestId(page, 'download-cancel').click();
    // The engine still holds the model loaded before (its stored copy was deleted, not the model on the GPU), so
    // the app shows it ready again rather than "no model".
    await page.waitForFunction(() => document.querySelector('[data-testid="model-status"]')?.classList.contains('status-ready'));
    expect(await byTestId(page, 'model-status').innerText()).toMatch(/ready/);
    expect(await storedRecord(page, packageUrl())).toBeNull();
    expect((await storedModels(page)).map((m) => m.id)).not.toContain(packageUrl());
  });

  it('copies a package from a picked folder into IndexedDB, verified, and loads it', async () => {
    const { page, server } = session();
    server.bytesSent.clear();
    const folder = join(repoRoot, 'public', 'models', 'deepseek-v32-dictionary-chat');
    // The folder input is what browsers without the directory picker use; both hand the files to the same import.
    await byTestId(page, 'package-folder-input').setInputFiles(folder);
    const id = 'folder:DeepSeek-V3.2-architecture dictionary chat (22M, trained)';
    await waitForStored(page, id, true);
    await waitForModelReady(page);
    expect(await byTestId(page, 'model-select').inputValue()).toBe(id);
    const record = await storedRecord(page, id);
    expect(record!.shards['shard-00000.bin']).toMatchObject({ bytes: 34054400, verified: true });
    expect([...server.bytesSent.keys()].filter((path) => path.includes('dictionary-chat'))).toEqual([]); // nothing fetched
  });

  it('starts a partial shard over when the server answers the resume request with the whole file (200)', async () => {
    const { page, server } = session();
    expect(await storedRecord(page, packageUrl())).toBeNull(); // cancelled above
    server.faults.set(SHARD_PATH, [{ kind: 'cut', afterBytes: CUT_AFTER }, { kind: 'ignore-range' }]);
    await loadByUrl(page, packageUrl());
    await waitForBanner(page, 'NETWORK');
    await dismissBanner(page);
    expect((await storedRecord(page, packageUrl()))!.shards['shard-00000.bin']!.bytes).toBe(2 * CHUNK);
    server.bytesSent.clear();
    await loadByUrl(page, packageUrl());
    await waitForStored(page, packageUrl(), true);
    await waitForModelReady(page);
    const record = await storedRecord(page, packageUrl());
    expect(record!.shards['shard-00000.bin']).toMatchObject({ bytes: 34054400, verified: true });
    expect(server.bytesSent.get(SHARD_PATH)).toBe(34054400); // the whole shard once: the stored chunks were replaced
  });

  it('made no request off the local server and opened no dialog', () => {
    expect(session().externalRequests).toEqual([]);
    expect(session().dialogs).toEqual([]);
  });
});
