// Model output is untrusted: an assistant message holding raw HTML with an event handler, a <script>, and
// javascript: links (Markdown and raw) must render inert in the real DOM of real Chromium. The model writes random
// text, so the message comes the way a user could get it: a conversation persisted in IndexedDB (in the UI's own
// stored shape, read back when the app opens), as after any earlier answer; it stays there, inert, across a
// browser restart on the same profile.
import { describe, expect, it } from 'vitest';
import { byTestId } from './support/chat-page';
import { seedStoredConversations } from './support/stored-conversations';
import { useAppSession } from './support/use-app-session';

const MARKER = 'xss-probe-7f3a';
const HOSTILE_ANSWER = [
  `Here is **${MARKER}**:`,
  '',
  '<img src=x onerror=alert(1)>',
  '',
  '<script>alert(2)</script>',
  '',
  '[click me](javascript:alert(3)) and [also me](  JaVaScRiPt:alert(4)) and <javascript:alert(5)>',
  '',
  '<a href="javascript:alert(6)">raw link</a> <svg onload=alert(7)></svg> <iframe src="javascript:alert(8)"></iframe>',
  '',
  '[a fine link](https://example.com/docs)',
].join('\n');

describe('assistant output renders inert', () => {
  const session = useAppSession();

  it('shows a stored answer full of HTML, scripts and javascript: links without running or linking any', async () => {
    const now = Date.now();
    await seedStoredConversations(session(), [
      {
        id: 'conversation-xss',
        title: 'Hostile answer',
        createdAt: now,
        updatedAt: now,
        messages: [
          { id: 'm-user', role: 'user', content: 'Show me something' },
          { id: 'm-assistant', role: 'assistant', content: HOSTILE_ANSWER },
        ],
      },
    ]);
    const { page } = session();
    await byTestId(page, 'conversation-item').filter({ hasText: 'Hostile answer' }).first().click();
    const message = byTestId(page, 'message-assistant').filter({ hasText: MARKER }).first();
    await message.waitFor();

    // The Markdown around the hostile parts did render: the test looks at a real rendered message.
    expect(await message.locator('strong').filter({ hasText: MARKER }).count()).toBe(1);
    expect(await message.locator('img, script, svg, iframe, object, embed, style').count()).toBe(0);
    const risky = await message.evaluate((root) => {
      const found: string[] = [];
      for (const element of root.querySelectorAll('*')) {
        for (const attribute of element.attributes) {
          if (/^on/i.test(attribute.name)) found.push(`${element.tagName} ${attribute.name}`);
        }
        const href = element.getAttribute('href') ?? element.getAttribute('src');
        if (href !== null && /^\s*(javascript|data|vbscript):/i.test(href)) found.push(`${element.tagName} ${href}`);
      }
      return found;
    });
    expect(risky).toEqual([]);
    // Only the one safe link is a link; the javascript: ones are at most text.
    const links = await message.locator('a').evaluateAll((anchors) => anchors.map((a) => (a as HTMLAnchorElement).href));
    expect(links).toEqual(['https://example.com/docs']);

    // Clicking what looks like a link runs nothing either.
    await message.getByText('click me').first().click();
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    expect(session().dialogs).toEqual([]);
    expect(await page.evaluate(() => document.querySelectorAll('script:not([src])').length)).toBe(0);
  });

  it('still has the conversation, still inert, after the browser is closed and opened again', async () => {
    await session().restart();
    const { page } = session();
    await byTestId(page, 'conversation-item').filter({ hasText: 'Hostile answer' }).first().click();
    const message = byTestId(page, 'message-assistant').filter({ hasText: MARKER }).first();
    await message.waitFor();
    expect(await message.locator('img, script, svg, iframe').count()).toBe(0);
    expect(await message.locator('a').count()).toBe(1);
    expect(session().dialogs).toEqual([]);
  });

  it('made no request off the local server', () => {
    expect(session().externalRequests).toEqual([]);
  });
});
