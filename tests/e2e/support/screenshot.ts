// The README's picture of the app: written by the e2e run (chat.test.ts) into docs/app-screenshot.png, in the
// middle of a conversation with the perf panel open, so it always shows the app as it is built now.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { byTestId } from './chat-page';

export const SCREENSHOT_PATH = fileURLToPath(new URL('../../../docs/app-screenshot.png', import.meta.url));

/** Opens the side panel (settings and performance) when it is folded away, then saves the page as seen. */
export async function saveAppScreenshot(page: Page): Promise<void> {
  if (!(await byTestId(page, 'stat-decode-tps').first().isVisible())) {
    await byTestId(page, 'side-panel-toggle').click();
    await byTestId(page, 'stat-decode-tps').first().waitFor();
  }
  // Editing a setting scrolls the side panel down to it: bring the performance panel back to the top.
  await page.getByRole('region', { name: 'Performance' }).evaluate((panel) => panel.scrollIntoView({ block: 'start' }));
  await mkdir(fileURLToPath(new URL('../../../docs/', import.meta.url)), { recursive: true });
  await page.screenshot({ path: SCREENSHOT_PATH, fullPage: false });
}
