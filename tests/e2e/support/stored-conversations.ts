// Puts conversations into the app's IndexedDB exactly where and how the app keeps them (app/store/persistence.ts:
// idb-keyval store 'ui-state' in database 'deepseek-webgpu-chat', the conversation array under 'conversations',
// the one in view under 'currentConversationId'), as an earlier session of the app would have left them. It writes
// from a page of the same origin that does not run the app (the models index), so the app cannot save over it,
// then opens the app, which reads them on start.
import type { Conversation } from '../../../app/store/types';
import type { AppSession } from './browser-session';

const DATABASE = 'deepseek-webgpu-chat';
const STORE = 'ui-state';

export async function seedStoredConversations(session: AppSession, conversations: Conversation[]): Promise<void> {
  const { page } = session;
  await page.goto(new URL('models/index.json', session.appUrl).href);
  await page.evaluate(
    ({ database, storeName, added }) =>
      new Promise<void>((resolve, reject) => {
        const opening = indexedDB.open(database);
        opening.onupgradeneeded = () => opening.result.createObjectStore(storeName);
        opening.onerror = () => reject(opening.error);
        opening.onsuccess = () => {
          const db = opening.result;
          const transaction = db.transaction(storeName, 'readwrite');
          const store = transaction.objectStore(storeName);
          const reading = store.get('conversations');
          reading.onsuccess = () => {
            const kept = Array.isArray(reading.result) ? (reading.result as unknown[]) : [];
            store.put([...added, ...kept], 'conversations');
            store.put(added[0]?.id ?? null, 'currentConversationId');
          };
          transaction.oncomplete = () => {
            db.close();
            resolve();
          };
          transaction.onerror = () => reject(transaction.error);
        };
      }),
    { database: DATABASE, storeName: STORE, added: conversations },
  );
  await page.goto(session.appUrl);
}
