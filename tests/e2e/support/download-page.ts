// What a user does with the model controls (app/components/model-sources.tsx, model-picker.tsx), by test id: load a
// package by URL, wait for the error banner with a given code, read the stored models the side panel lists.
import type { Page } from 'playwright-core';
import { byTestId, MODEL_TIMEOUT_MS } from './chat-page';

/** Types the URL into "Package URL" and presses "Load from URL". */
export async function loadByUrl(page: Page, url: string): Promise<void> {
  await byTestId(page, 'package-url').fill(url);
  await byTestId(page, 'package-url-load').click();
}

/** Waits for the error banner showing `code`; returns its message. */
export async function waitForBanner(page: Page, code: string): Promise<string> {
  const banner = page.locator(`[data-testid="error-banner"][data-code="${code}"]`);
  await banner.waitFor({ timeout: MODEL_TIMEOUT_MS });
  return banner.locator('.error-banner-message').innerText();
}

export async function dismissBanner(page: Page): Promise<void> {
  await page.locator('[data-testid="error-banner"] button[aria-label="Dismiss"]').click();
}

export interface ListedStoredModel {
  id: string;
  complete: boolean;
  size: string;
}

/** The stored models the side panel lists, as shown. */
export async function storedModels(page: Page): Promise<ListedStoredModel[]> {
  return byTestId(page, 'stored-model').evaluateAll((items) => items.map((item) => ({
    id: item.getAttribute('data-model-id') ?? '',
    complete: item.getAttribute('data-complete') === 'true',
    size: (item.querySelector('[data-testid="stored-model-size"]') as HTMLElement | null)?.innerText ?? '',
  })));
}

/** Waits until the side panel lists model `id` as `complete` (or partial). */
export async function waitForStored(page: Page, id: string, complete: boolean): Promise<void> {
  await page.waitForFunction(([modelId, done]) => [...document.querySelectorAll('[data-testid="stored-model"]')]
    .some((item) => item.getAttribute('data-model-id') === modelId && item.getAttribute('data-complete') === String(done)),
  [id, complete] as const, { timeout: MODEL_TIMEOUT_MS });
}
