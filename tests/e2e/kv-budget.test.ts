// The latent KV cache settings and the sidebar's cache sizes in real Chromium with real IndexedDB: two short
// conversations each show their stored size (bytes = tokens × the f16 bytes per token the engine reports for the
// loaded model); after switching the format to int8 the next answer's rows are stored as int8 (read back from the
// `deepseek-webgpu-kv` database: that chunk's bytes = its tokens × the int8 figure, the earlier one's f16); an
// invalid budget is refused with a message and not applied; lowering the GPU budget to 0 and the stored budget to
// what the newer conversation holds drops the older one's cache at once: its label goes, its messages stay, and
// its next message prefills the whole prompt (exact length from the bundled tokenizer). After a reload the settings
// are back and the sidebar shows the same sizes.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chatTurns } from '../../app/store/conversation-logic';
import { DEFAULT_SETTINGS } from '../../app/store/types';
import {
  byTestId, MODEL_TIMEOUT_MS, perfSummary, sendMessage, setMaxNewTokens, statValue, waitForAnswerDone, waitForModelReady,
  waitForSaved,
} from './support/chat-page';
import { bundledTokenizer, messagesShown } from './support/conversation-tokens';
import { useAppSession } from './support/use-app-session';

interface SizeLabel { id: string; bytes: number; tokens: number; formats: string; text: string; tooltip: string }

async function sizeLabels(page: Page): Promise<SizeLabel[]> {
  return byTestId(page, 'conversation-cache-size').evaluateAll((labels) => labels.map((label) => {
    const data = (label as HTMLElement).dataset;
    return { id: data.conversationId!, bytes: Number(data.bytes), tokens: Number(data.tokens), formats: data.formats!,
      text: (label as HTMLElement).innerText, tooltip: label.getAttribute('title') ?? '' };
  }));
}

/** Waits until the sidebar shows `count` size labels and the one of `id` (when given) covers more than `tokens`. */
async function waitForLabels(page: Page, count: number, id?: string, tokens = 0): Promise<SizeLabel[]> {
  await page.waitForFunction(({ count, id, tokens }) => {
    const labels = [...document.querySelectorAll<HTMLElement>('[data-testid="conversation-cache-size"]')];
    return labels.length === count && (!id || labels.some((l) => l.dataset.conversationId === id && Number(l.dataset.tokens) > tokens));
  }, { count, id, tokens }, { timeout: MODEL_TIMEOUT_MS, polling: 200 });
  return sizeLabels(page);
}

/** The stored chunks (`chunk:<id>:<from>`) of one conversation: first row, format, tokens and bytes (codes + scales). */
async function storedChunks(page: Page, conversationId: string) {
  return page.evaluate((id) => new Promise<{ from: number; encoding: string; tokens: number; bytes: number }[]>((resolve, reject) => {
    const open = indexedDB.open('deepseek-webgpu-kv');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const found: { from: number; encoding: string; tokens: number; bytes: number }[] = [];
      const cursor = db.transaction('latent-rows').objectStore('latent-rows').openCursor();
      cursor.onsuccess = () => {
        const at = cursor.result;
        if (!at) { db.close(); resolve(found.sort((a, b) => a.from - b.from)); return; }
        if (String(at.key).startsWith(`chunk:${id}:`)) {
          const c = at.value as { from: number; encoding: string; tokens: number; values: ArrayBufferView; scales: ArrayBufferView | null };
          found.push({ from: c.from, encoding: c.encoding, tokens: c.tokens, bytes: c.values.byteLength + (c.scales?.byteLength ?? 0) });
        }
        at.continue();
      };
      cursor.onerror = () => reject(cursor.error);
    };
  }), conversationId);
}

/** Types a budget and presses Enter, as a person does. */
async function typeBudget(page: Page, testId: string, text: string): Promise<void> {
  await byTestId(page, testId).fill(text);
  await byTestId(page, testId).press('Enter');
}

describe('KV cache settings and sizes in the sidebar', () => {
  const session = useAppSession();

  it('shows sizes, stores int8 after the switch, and a lowered budget drops the older cache at once', async () => {
    const { page } = session();
    await waitForModelReady(page);
    expect(await sizeLabels(page), 'no conversation, no cache').toEqual([]);
    await setMaxNewTokens(page, 4);
    await sendMessage(page, 'What does cat mean?');
    await waitForAnswerDone(page);
    const [older] = await waitForLabels(page, 1);
    await byTestId(page, 'new-conversation').click();
    await sendMessage(page, 'Give synonyms for happy.');
    await waitForAnswerDone(page);
    const labels = await waitForLabels(page, 2);
    const newer = labels.find((l) => l.id !== older!.id)!;
    const perToken = byTestId(page, 'kv-bytes-per-token');
    const f16 = Number(await perToken.getAttribute('data-f16'));
    const int8 = Number(await perToken.getAttribute('data-int8'));
    console.log(`bytes per token: f16 ${f16}, int8 ${int8}; sizes ${labels.map((l) => `${l.text} (${l.tooltip})`).join('; ')}`);
    expect(int8).toBeGreaterThan(0);
    expect(int8).toBeLessThan(f16);
    for (const label of labels) {
      expect(label.formats).toBe('f16');
      expect(label.bytes).toBe(label.tokens * f16);
      expect(label.tooltip).toContain(`${label.tokens} tokens cached, f16`);
    }

    await byTestId(page, 'setting-kv-encoding').selectOption('int8');
    await sendMessage(page, 'Use happy in a sentence.');
    await waitForAnswerDone(page);
    const grown = (await waitForLabels(page, 2, newer.id, newer.tokens)).find((l) => l.id === newer.id)!;
    const chunks = await storedChunks(page, newer.id);
    console.log(`after int8: ${grown.text} (${grown.tooltip}); chunks ${JSON.stringify(chunks)}`);
    const last = chunks.at(-1)!;
    expect(last.encoding).toBe('int8');
    expect(last.bytes).toBe(last.tokens * int8);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.bytes).toBe(chunk.tokens * (chunk.encoding === 'int8' ? int8 : f16));
    expect(chunks.reduce((sum, c) => sum + c.bytes, 0)).toBe(grown.bytes);
    expect(chunks.reduce((sum, c) => sum + c.tokens, 0)).toBe(grown.tokens);
    expect(grown.formats.split(' ').at(-1)).toBe('int8');

    for (const bad of ['-5', 'lots']) {
      await typeBudget(page, 'setting-kv-stored-budget', bad);
      await byTestId(page, 'setting-kv-stored-budget-error').waitFor();
      expect(await byTestId(page, 'setting-kv-stored-budget').getAttribute('data-applied')).toBe('512');
    }
    expect(await byTestId(page, 'setting-kv-stored-budget-error').innerText()).toMatch(/not a number/);
    expect((await sizeLabels(page)).length, 'nothing was evicted by invalid input').toBe(2);

    await typeBudget(page, 'setting-kv-gpu-budget', '0');
    await typeBudget(page, 'setting-kv-stored-budget', ((grown.bytes + 1) / 2 ** 20).toFixed(6));
    expect(await byTestId(page, 'setting-kv-stored-budget-error').count()).toBe(0);
    const kept = await waitForLabels(page, 1);
    expect(kept.map((l) => l.id), 'the newer conversation keeps its cache').toEqual([newer.id]);

    await byTestId(page, 'conversation-item').filter({ hasText: 'What does cat mean?' }).locator('button').first().click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="message-user"]').length === 1);
    expect(await byTestId(page, 'message-assistant').count(), 'the older conversation keeps its messages').toBe(1);
    await sendMessage(page, 'Use cat in a sentence.');
    await waitForAnswerDone(page);
    console.log(`older conversation after eviction: ${await perfSummary(page)}`);
    const prompt = (await bundledTokenizer()).encodeChat(chatTurns(DEFAULT_SETTINGS.systemPrompt, (await messagesShown(page)).slice(0, 3)));
    expect(await statValue(page, 'stat-prefill-tokens'), 'the whole history is prefilled').toBe(prompt.length);
    expect(await statValue(page, 'stat-restored-tokens')).toBe(0);
    expect(await byTestId(page, 'error-banner').count()).toBe(0);

    const shownBefore = (await sizeLabels(page)).map((l) => [l.id, l.bytes]).sort();
    await waitForSaved(page);
    await session().reload(); // the settings come back from storage; the sizes from the engine before the model loads
    await byTestId(page, 'setting-kv-encoding').waitFor();
    expect(await byTestId(page, 'setting-kv-encoding').inputValue()).toBe('int8');
    expect(await byTestId(page, 'setting-kv-gpu-budget').getAttribute('data-applied')).toBe('0');
    await waitForLabels(page, shownBefore.length);
    expect((await sizeLabels(page)).map((l) => [l.id, l.bytes]).sort()).toEqual(shownBefore);
  });
});
