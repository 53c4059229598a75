// The browser's KvStore: IndexedDB database `deepseek-webgpu-kv`, object store `latent-rows`, through idb-keyval
// (which works in the engine worker). Kept apart from kv-store.ts so Node code never opens IndexedDB.
import { createStore, del, get, keys, set } from 'idb-keyval';
import type { KvStore } from './kv-store';

export const KV_DATABASE = 'deepseek-webgpu-kv';
export const KV_OBJECT_STORE = 'latent-rows';

export function idbKvStore(): KvStore {
  const store = createStore(KV_DATABASE, KV_OBJECT_STORE);
  return {
    get: (key) => get(key, store),
    set: (key, value) => set(key, value, store),
    del: (key) => del(key, store),
    keys: async () => (await keys(store)).map(String),
  };
}
