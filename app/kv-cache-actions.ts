// Keeps the engine's latent KV cache settings in step with the store's (format, stored budget, GPU budget): they
// are applied before every model load (a fresh worker starts with the engine's defaults) and again whenever the
// person changes them; a lowered budget evicts at once in the engine, and the stored caches shown in the sidebar
// are then read back. Also refreshes those figures after each answer and delete. Replies that arrive out of order
// never overwrite a newer one.
import { toErrorInfo } from '../engine/worker/error-transfer';
import { engineClient } from './engine-actions';
import { useAppStore } from './store';
import { kvCacheOptions, type KvSettings } from './store/kv-settings';

const store = () => useAppStore.getState();
let asked = 0;
let shown = 0;

/** Reads each conversation's stored cache from the engine into the store. */
export async function refreshStoredCaches(): Promise<void> {
  const ask = ++asked;
  try {
    const caches = await engineClient().cacheDetails();
    if (ask < shown) return;
    shown = ask;
    store().setStoredCaches(caches);
  } catch {
    // the worker is restarting: the next load refreshes the figures
  }
}

/** Sends the store's KV settings to the engine, then shows what the (possibly evicted) stored caches hold. */
export async function applyKvSettings(): Promise<void> {
  try {
    await engineClient().configureKvCache(kvCacheOptions(store().settings));
  } catch (error) {
    const info = toErrorInfo(error);
    if (info.code === 'DEVICE_LOST') return; // the worker is being replaced: the next load applies them
    store().showError(info.code, `The cache settings were not applied: ${info.message}`);
  }
  await refreshStoredCaches();
}

function kvPart({ kvEncoding, storedKvBudgetMiB, gpuKvBudgetMiB }: KvSettings): string {
  return `${kvEncoding} ${storedKvBudgetMiB} ${gpuKvBudgetMiB}`;
}

/** From now on, a change of the KV settings is applied to the engine at once. Returns the unsubscribe. */
export function watchKvSettings(): () => void {
  let last = kvPart(store().settings);
  return useAppStore.subscribe((state) => {
    const next = kvPart(state.settings);
    if (next === last) return;
    last = next;
    void applyKvSettings();
  });
}
