// Vitest wiring for one browser session per test file: builds (or reuses) the app, opens the session before the
// file's tests, closes it after them, and prints the browser's log under any test that fails.
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { builtApp } from './app-build';
import { formatSessionLog, openAppSession, type AppSession, type SessionOptions } from './browser-session';

export function useAppSession(options: SessionOptions = {}): () => AppSession {
  let session: AppSession | undefined;
  beforeAll(async () => {
    session = await openAppSession(await builtApp(), options);
  });
  afterAll(async () => {
    await session?.close();
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (session) console.error(formatSessionLog(session));
    });
  });
  return () => {
    if (!session) throw new Error('the browser session did not open (see the beforeAll error)');
    return session;
  };
}
