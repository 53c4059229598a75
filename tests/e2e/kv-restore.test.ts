// The stored latent cache in real Chromium with real IndexedDB (engine/kv/stored-caches.ts through idb-kv-store.ts):
// an answer's cache rows are saved to the `deepseek-webgpu-kv` database; after a reload (nothing on the GPU any
// more) the next message in the same conversation restores them and prefills only the rest of the prompt. The
// expected count is exact: the new prompt's length, tokenized in Node with the bundled package's own tokenizer from
// the conversation the page shows, minus the restored rows; the restored rows are all the reused ones and cover at
// least the first prompt, and the answer carries the "restored from cache" mark.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chatTurns } from '../../app/store/conversation-logic';
import { DEFAULT_SETTINGS } from '../../app/store/types';
import { commonPrefixLength } from '../../engine/kv/prefix-match';
import {
  byTestId, MODEL_TIMEOUT_MS, perfSummary, sendMessage, setMaxNewTokens, statValue, waitForAnswerDone, waitForModelReady, waitForSaved,
} from './support/chat-page';
import { bundledTokenizer, messagesShown } from './support/conversation-tokens';
import { useAppSession } from './support/use-app-session';

/** Token counts of the conversations stored in the page's `deepseek-webgpu-kv` IndexedDB database. */
async function storedTokenCounts(page: Page): Promise<number[]> {
  return page.evaluate(() => new Promise<number[]>((resolve, reject) => {
    const open = indexedDB.open('deepseek-webgpu-kv');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('latent-rows')) { db.close(); resolve([]); return; }
      const all = db.transaction('latent-rows').objectStore('latent-rows').getAll();
      all.onsuccess = () => {
        db.close();
        resolve((all.result as { tokenIds?: number[]; chunks?: unknown[] }[]).filter((r) => r.chunks).map((r) => r.tokenIds!.length));
      };
      all.onerror = () => reject(all.error);
    };
  }));
}

describe('stored latent cache across a reload', () => {
  const session = useAppSession();
  const question = 'What is multi-head latent attention?';
  const followUp = 'And why is its cache small?';

  it('prefills only what the restored cache does not hold after a reload', async () => {
    const { page } = session();
    await waitForModelReady(page);
    await setMaxNewTokens(page, 4);
    await sendMessage(page, question);
    await waitForAnswerDone(page);
    const firstPrefill = await statValue(page, 'stat-prefill-tokens');
    const firstContext = await statValue(page, 'stat-context-tokens');
    await page.waitForFunction(async (tokens) => {
      const counts = await new Promise<number[]>((resolve) => {
        const open = indexedDB.open('deepseek-webgpu-kv');
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('latent-rows')) { db.close(); resolve([]); return; }
          const all = db.transaction('latent-rows').objectStore('latent-rows').getAll();
          all.onsuccess = () => { db.close(); resolve((all.result as { tokenIds?: number[]; chunks?: unknown[] }[]).filter((r) => r.chunks).map((r) => r.tokenIds!.length)); };
        };
      });
      return counts.includes(tokens);
    }, firstContext, { timeout: MODEL_TIMEOUT_MS, polling: 200 });
    expect(await storedTokenCounts(page)).toEqual([firstContext]);
    await waitForSaved(page);

    await session().reload();
    await waitForModelReady(page);
    await byTestId(page, 'conversation-item').first().locator('button').first().click();
    await byTestId(page, 'message-assistant').first().waitFor();
    await sendMessage(page, followUp);
    await waitForAnswerDone(page);
    console.log(`after reload: ${await perfSummary(page)}`);

    const tokenizer = await bundledTokenizer();
    const shown = await messagesShown(page);
    expect(shown.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    const prompt = tokenizer.encodeChat(chatTurns(DEFAULT_SETTINGS.systemPrompt, shown.slice(0, 3)));
    const firstPrompt = tokenizer.encodeChat(chatTurns(DEFAULT_SETTINGS.systemPrompt, shown.slice(0, 1)));
    expect(firstPrompt.length).toBe(firstPrefill);
    expect(commonPrefixLength(firstPrompt, prompt)).toBe(firstPrompt.length);
    const restored = await statValue(page, 'stat-restored-tokens');
    const prefilled = await statValue(page, 'stat-prefill-tokens');
    console.log(`prompt ${prompt.length} tokens, restored ${restored}, prefilled ${prefilled}; the first prompt had ${firstPrompt.length}, the cache ${firstContext}`);
    expect(restored).toBeGreaterThanOrEqual(firstPrompt.length);
    expect(restored).toBeLessThanOrEqual(firstContext);
    expect(prefilled).toBe(prompt.length - restored);
    const marks = byTestId(page, 'restored-mark');
    expect(await marks.count()).toBe(1);
    expect(await marks.first().innerText()).toContain(String(restored));
    expect(await byTestId(page, 'error-banner').count()).toBe(0);
  });
});
