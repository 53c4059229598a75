// The small key-value interface stored latent caches go through (engine/kv/stored-caches.ts), so the restore logic
// is the same in the browser worker (IndexedDB through idb-keyval: engine/kv/idb-kv-store.ts) and in Node tests
// (MemoryKvStore below: a Map holding structured clones, as IndexedDB would).

export interface KvStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

/** A KvStore in memory; values are structured-cloned on the way in and out, as IndexedDB does. */
export class MemoryKvStore implements KvStore {
  readonly entries = new Map<string, unknown>();

  async get<T>(key: string): Promise<T | undefined> {
    return this.entries.has(key) ? structuredClone(this.entries.get(key)) as T : undefined;
  }

  async set(key: string, value: unknown): Promise<void> {
    this.entries.set(key, structuredClone(value));
  }

  async del(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async keys(): Promise<string[]> {
    return [...this.entries.keys()];
  }
}
