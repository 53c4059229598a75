// The page's side of browser storage: the quota estimate the engine checks a download against (the page's figure,
// which is also the one tests can shrink with an init script) and the request for persistent storage, whose answer
// the app shows (StorageManager.persist() exists on pages only, not in workers).
import type { StorageFacts } from '../engine/worker/protocol';

export async function storageFacts(): Promise<StorageFacts | undefined> {
  const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
  return estimate?.quota !== undefined ? { quota: estimate.quota, usage: estimate.usage ?? 0 } : undefined;
}

/** Asks for persistent storage (no prompt in Chromium; it decides by site engagement); null when unsupported. */
export async function requestPersistentStorage(): Promise<boolean | null> {
  if (!navigator.storage?.persist) return null;
  try {
    return (await navigator.storage.persisted()) || (await navigator.storage.persist());
  } catch {
    return null;
  }
}
