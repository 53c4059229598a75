// Stored latent caches slice: what the engine last reported of each conversation's cache in the browser (bytes,
// tokens, formats; engine cacheDetails), shown in the sidebar and the perf panel. A conversation without an entry
// has no stored cache (never answered, evicted by the budget, deleted, or another model's).
import type { StateCreator } from 'zustand';
import type { StoredCacheInfo } from '../../engine/worker/protocol';
import type { AppStore } from './index';

export interface KvCacheSlice {
  storedCaches: Record<string, StoredCacheInfo>;
  setStoredCaches: (storedCaches: Record<string, StoredCacheInfo>) => void;
}

export const createKvCacheSlice: StateCreator<AppStore, [], [], KvCacheSlice> = (set) => ({
  storedCaches: {},
  setStoredCaches: (storedCaches) => set({ storedCaches }),
});
