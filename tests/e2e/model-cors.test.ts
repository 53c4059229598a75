// A package URL on another origin whose server sends no CORS headers (a second local server on another port, so
// another origin): the server answers, but the browser does not let the page read the answer. The app must say
// so — a NETWORK banner naming CORS and Access-Control-Allow-Origin with what to do — keep the model it had
// loaded ready, and store nothing for that URL.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForModelReady } from './support/chat-page';
import { loadByUrl, storedModels, waitForBanner } from './support/download-page';
import { startStaticServer, type StaticServer } from './support/static-server';
import { useAppSession } from './support/use-app-session';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGE = join(repoRoot, 'public', 'models', 'deepseek-v32-dictionary-chat');

describe('a package URL on another origin without CORS headers', () => {
  let other: StaticServer | undefined;
  const otherOrigins: string[] = [];
  beforeAll(async () => { // before the session opens, which lets requests to this origin through
    other = await startStaticServer(join(repoRoot, 'public'), { mounts: { '/elsewhere/': PACKAGE } });
    otherOrigins.push(other.origin);
  });
  const session = useAppSession({ otherOrigins });
  afterAll(async () => {
    await other?.close();
  });

  it('explains the CORS refusal, keeps the loaded model ready and stores nothing for the URL', async () => {
    const { page } = session();
    const loaded = await waitForModelReady(page);
    const url = `${other!.origin}/elsewhere/`;
    expect(new URL(url).origin).not.toBe(new URL(page.url()).origin);
    await loadByUrl(page, url);
    const message = await waitForBanner(page, 'NETWORK');
    console.log(`CORS banner: ${message}`);
    expect(message).toMatch(/CORS/);
    expect(message).toMatch(/Access-Control-Allow-Origin/);
    // The request reached the server, which answered: the browser withheld the answer (CORS), not the network.
    console.log(`requests to the other origin: ${other!.requests.join(', ')}`);
    expect(other!.requests.some((request) => request.includes(' /elsewhere/'))).toBe(true);
    await page.waitForFunction(() => document.querySelector('[data-testid="model-status"]')?.classList.contains('status-ready'));
    expect(await waitForModelReady(page)).toBe(loaded);
    expect((await storedModels(page)).filter((m) => m.id === url)).toEqual([]);
  });
});
