// What a user does on the chat page, by the app's stable test ids (issue 4, item 8): wait for the model, send a
// message, watch the answer stream, stop it, read the stats. Waits are on the page's state (an element appears,
// text grows), never on wall time; a wait that never comes true fails the test after the given timeout.
import type { Locator, Page } from 'playwright-core';

/** SwiftShader runs the model on two CPU cores: loading and answering take tens of seconds. */
export const MODEL_TIMEOUT_MS = 300_000;

export const byTestId = (page: Page, id: string): Locator => page.locator(`[data-testid="${id}"]`);

export async function waitForModelReady(page: Page, timeoutMs = MODEL_TIMEOUT_MS): Promise<string> {
  const status = byTestId(page, 'model-status');
  await status.filter({ hasText: /ready/i }).first().waitFor({ timeout: timeoutMs });
  return status.first().innerText();
}

/** Each answer's rendered Markdown text (without its buttons and notes such as "Stopped."). */
export async function assistantTexts(page: Page): Promise<string[]> {
  return byTestId(page, 'message-assistant').evaluateAll((answers) =>
    answers.map((answer) => ((answer.querySelector('.markdown') ?? answer) as HTMLElement).innerText),
  );
}

export async function userTexts(page: Page): Promise<string[]> {
  return byTestId(page, 'message-user').evaluateAll((messages) =>
    messages.map((message) => ((message.querySelector('.message-text') ?? message) as HTMLElement).innerText),
  );
}

/** Types into the composer and sends with the send button; resolves once generation has started. */
export async function sendMessage(page: Page, text: string, timeoutMs = MODEL_TIMEOUT_MS): Promise<void> {
  const answersBefore = await byTestId(page, 'message-assistant').count();
  await byTestId(page, 'chat-input').fill(text);
  await byTestId(page, 'send-button').click();
  await page.waitForFunction(
    (count) => document.querySelectorAll('[data-testid="message-assistant"]').length > count,
    answersBefore,
    { timeout: timeoutMs },
  );
}

/** Waits until no answer is being generated: the stop button is gone and the composer takes input again. */
export async function waitForAnswerDone(page: Page, timeoutMs = MODEL_TIMEOUT_MS): Promise<void> {
  await byTestId(page, 'stop-button').waitFor({ state: 'hidden', timeout: timeoutMs });
  await byTestId(page, 'send-button').waitFor({ state: 'visible', timeout: timeoutMs });
}

/**
 * Watches the last assistant message while the stop button is shown and returns the text lengths seen, each
 * longer than the one before: `times` distinct growths observed mid-generation.
 */
export async function observeStreaming(page: Page, times: number): Promise<number[]> {
  const lengths: number[] = [];
  for (let i = 0; i < times; i++) {
    const grown = await page.waitForFunction(
      (previous) => {
        const answers = document.querySelectorAll('[data-testid="message-assistant"]');
        const length = answers[answers.length - 1]?.textContent?.length ?? 0;
        const generating = document.querySelector('[data-testid="stop-button"]') !== null;
        return generating && length > previous ? length : false;
      },
      lengths.at(-1) ?? 0,
      { timeout: MODEL_TIMEOUT_MS, polling: 'raf' },
    );
    lengths.push((await grown.jsonValue()) as number);
  }
  return lengths;
}

/** The number a stat shows (first number in its text; thousands separators allowed). */
export async function statValue(page: Page, id: string): Promise<number> {
  const text = await byTestId(page, id).first().innerText();
  const match = /-?\d[\d,]*(?:\.\d+)?/.exec(text);
  if (!match) throw new Error(`stat ${id} shows no number: "${text}"`);
  return Number(match[0].replace(/,/g, ''));
}

/** Sets "Max new tokens" in the settings panel, as a user types it; it applies to the next request. */
export async function setMaxNewTokens(page: Page, tokens: number): Promise<void> {
  await setNumberSetting(page, 'maxNewTokens', tokens);
}

/**
 * Types a number into one of the settings panel's number inputs (`setting-<name>`: temperature, topP, topK,
 * repetitionPenalty, maxNewTokens) and waits until the input shows it; it applies to the next request.
 */
export async function setNumberSetting(page: Page, name: string, value: number): Promise<void> {
  const testId = `setting-${name}`;
  await byTestId(page, testId).fill(String(value));
  await page.waitForFunction(([id, expected]) => {
    const element = document.querySelector<HTMLInputElement>(`[data-testid="${id}"]`);
    return element?.value === expected;
  }, [testId, String(value)]);
}

/** Waits until the app reports everything saved to IndexedDB (its save-status), so a reload finds it stored. */
export async function waitForSaved(page: Page): Promise<void> {
  await page.locator('[data-testid="save-status"][data-state="saved"]').waitFor({ timeout: MODEL_TIMEOUT_MS });
}

/** The perf panel's figures on one line, for the test output (measured figures, never asserted on). */
export async function perfSummary(page: Page): Promise<string> {
  const pairs = await page.locator('.perf-panel .stat').evaluateAll((stats) =>
    stats.map((stat) => `${stat.querySelector('dt')?.textContent}: ${stat.querySelector('dd')?.textContent}`),
  );
  return pairs.join(' | ');
}
