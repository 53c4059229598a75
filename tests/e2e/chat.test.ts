// The whole chat flow in real headless Chromium on SwiftShader WebGPU, against the built app and its bundled
// random-weight model, one browser for the file (tests run in order and build on each other): the bundled model
// loads without a click; an answer streams in and its stats fill in; switching attention mode answers again in the
// other mode (and writes docs/app-screenshot.png); Stop ends an answer in a second conversation; a reload keeps
// both. Answers are few and short: SwiftShader runs the model on the CPU.
import type { Locator } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  assistantTexts, byTestId, observeStreaming, perfSummary, sendMessage, setMaxNewTokens, statValue, userTexts,
  waitForAnswerDone, waitForModelReady, waitForSaved,
} from './support/chat-page';
import { saveAppScreenshot } from './support/screenshot';
import { useAppSession } from './support/use-app-session';

// Enough tokens to see the text grow twice; few, because each costs a second or so on SwiftShader.
const SHORT_ANSWER_TOKENS = 8;

describe('chat app end to end', () => {
  const session = useAppSession();
  const firstQuestion = 'What is multi-head latent attention?';
  const secondQuestion = 'Tell me a very long story.';
  let firstConversation: { user: string[]; assistant: string[] };
  let secondConversation: { user: string[]; assistant: string[] };

  it('loads the app shell with the chat composer', async () => {
    const { page } = session();
    expect(await page.title()).toMatch(/DeepSeek/);
    await byTestId(page, 'chat-input').waitFor();
    await byTestId(page, 'model-select').waitFor();
  });

  it('loads the bundled model without a click until model-status says ready', async () => {
    const { page } = session();
    const status = await waitForModelReady(page);
    expect(status).toMatch(/ready/i);
    expect(await byTestId(page, 'model-select').first().innerText()).toMatch(/random weights/i);
  });

  it('streams the answer into message-assistant, growing while generating, then fills the stats', async () => {
    const { page } = session();
    await setMaxNewTokens(page, SHORT_ANSWER_TOKENS);
    await sendMessage(page, firstQuestion);
    const lengths = await observeStreaming(page, 2);
    expect(lengths[1]).toBeGreaterThan(lengths[0]!);
    await waitForAnswerDone(page);
    const [answer] = await assistantTexts(page);
    expect(answer!.length).toBeGreaterThanOrEqual(lengths[1]!);
    const shown = await byTestId(page, 'message-assistant').first().innerText();
    expect(await userTexts(page)).toEqual([firstQuestion]);
    console.log(`first answer (sparse): ${await perfSummary(page)}`);
    expect(await statValue(page, 'stat-decode-tps')).toBeGreaterThan(0);
    expect(await statValue(page, 'stat-prefill-tps')).toBeGreaterThan(0);
    const prefillTokens = await statValue(page, 'stat-prefill-tokens');
    expect(prefillTokens).toBeGreaterThan(0);
    // The cache holds the prompt and the answer (its last token may not have been run through the model yet). The
    // trained default model may end an answer itself (end-of-sentence token, no note) within the max-new-tokens
    // setting; otherwise the answer ends at that setting and says so.
    const answerTokens = (await statValue(page, 'stat-context-tokens')) - prefillTokens;
    expect(answerTokens).toBeGreaterThanOrEqual(1);
    expect(answerTokens).toBeLessThanOrEqual(SHORT_ANSWER_TOKENS);
    if (/max new tokens/i.test(shown)) expect(answerTokens).toBeGreaterThanOrEqual(SHORT_ANSWER_TOKENS - 1);
    else expect(shown).not.toMatch(/stopped/i);
  });

  it('switches attention mode and answers again in the new mode', async () => {
    const { page } = session();
    const toggle = byTestId(page, 'attention-toggle');
    expect(await attentionMode(toggle)).toBe('sparse'); // the default for a model with the DSA indexer
    await toggle.click();
    expect(await attentionMode(toggle)).toBe('dense');
    await sendMessage(page, 'And now with dense attention?');
    await observeStreaming(page, 1);
    await waitForAnswerDone(page);
    expect(await assistantTexts(page)).toHaveLength(2);
    console.log(`second answer (dense): ${await perfSummary(page)}`);
    expect(await statValue(page, 'stat-decode-tps')).toBeGreaterThan(0);
    // The perf panel reports the mode the engine ran this answer with (ChatStats.attention).
    expect(await page.locator('.perf-panel h2').innerText()).toMatch(/dense/);
    await saveAppScreenshot(page);
    firstConversation = { user: await userTexts(page), assistant: await assistantTexts(page) };
  });

  it('Stop ends generation in a new conversation, keeps the partial answer, and the composer sends again', async () => {
    const { page } = session();
    await byTestId(page, 'new-conversation').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="message-user"]').length === 0);
    await setMaxNewTokens(page, 2000); // far more than it will write before Stop
    await sendMessage(page, secondQuestion);
    await observeStreaming(page, 1);
    await byTestId(page, 'stop-button').click();
    await waitForAnswerDone(page);
    expect(await byTestId(page, 'message-assistant').first().innerText()).toMatch(/stopped/i);
    secondConversation = { user: await userTexts(page), assistant: await assistantTexts(page) };
    expect(secondConversation.user).toEqual([secondQuestion]);
    expect(secondConversation.assistant).toHaveLength(1);
    expect(secondConversation.assistant[0]!.length).toBeGreaterThan(0);
    await byTestId(page, 'chat-input').fill('ok');
    expect(await byTestId(page, 'send-button').isEnabled()).toBe(true);
    await byTestId(page, 'chat-input').fill('');
    expect(await byTestId(page, 'conversation-item').count()).toBe(2);
  });

  it('keeps both conversations with their messages across a reload', async () => {
    const { page } = session();
    await waitForSaved(page);
    await session().reload();
    const items = byTestId(page, 'conversation-item');
    await items.nth(1).waitFor();
    expect(await items.count()).toBe(2);
    const seen: { user: string[]; assistant: string[] }[] = [];
    for (let i = 0; i < 2; i++) {
      await items.nth(i).locator('button').first().click();
      await page.waitForFunction((index) => {
        const item = document.querySelectorAll('[data-testid="conversation-item"]')[index];
        return item?.getAttribute('aria-current') === 'true' && document.querySelector('[data-testid="message-user"]');
      }, i);
      seen.push({ user: await userTexts(page), assistant: await assistantTexts(page) });
    }
    // Newest first: the second conversation heads the list.
    expect(seen).toEqual([secondConversation, firstConversation]);
  });

  it('made no request off the local server, opened no dialog and showed no error banner', async () => {
    expect(session().externalRequests).toEqual([]);
    expect(session().dialogs).toEqual([]);
    expect(await byTestId(session().page, 'error-banner').count()).toBe(0);
  });
});

/** The attention mode the toggle shows for the next request ('sparse' or 'dense'). */
async function attentionMode(toggle: Locator): Promise<string> {
  return (await toggle.getAttribute('data-mode')) ?? '';
}
