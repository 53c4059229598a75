// Where downloaded model packages live in the browser: IndexedDB database `deepseek-webgpu-models`, object store
// `packages`, through idb-keyval (works in the engine worker). Keys are namespaced by model id:
//   model:<id>:record                      the StoredModelRecord below (small; rewritten with every chunk)
//   model:<id>:manifest                    the manifest's JSON object, as fetched
//   model:<id>:file:<name>                 a tokenizer file's text
//   model:<id>:shard:<file>:chunk:<n>      bytes [n * chunkBytes, (n + 1) * chunkBytes) of a shard (Uint8Array)
// Invariant: a shard's state says how many whole chunks are stored (`chunks`, `bytes` = their total) and whether
// the whole shard matched its SHA-256 (`verified`); a chunk and the record that counts it are written in one
// transaction, so after a crash or a closed tab the record never counts a chunk that is not there.
import { createStore, get, getMany, promisifyRequest, setMany, type UseStore } from 'idb-keyval';
import type { ModelEntry } from '../worker/protocol';

export const MODELS_DATABASE = 'deepseek-webgpu-models';
export const MODELS_OBJECT_STORE = 'packages';
/** Bytes per stored chunk: a few MiB keeps IndexedDB values moderate and a resumed shard loses at most one. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

export interface StoredShardState {
  chunks: number; // whole chunks stored
  bytes: number; // their total bytes
  verified: boolean; // all bytes stored and their SHA-256 equals the manifest's
}

export interface StoredModelRecord {
  entry: ModelEntry; // how the model is listed (id, name, url, ...)
  origin: 'url' | 'folder';
  chunkBytes: number;
  totalBytes: number; // shard bytes in the manifest
  shards: Record<string, StoredShardState>; // by shard file name
  complete: boolean; // manifest, tokenizer files and every shard stored and verified
}

const modelPrefix = (id: string) => `model:${id}:`;
const recordKey = (id: string) => `${modelPrefix(id)}record`;
const manifestKey = (id: string) => `${modelPrefix(id)}manifest`;
const fileKey = (id: string, name: string) => `${modelPrefix(id)}file:${name}`;
const shardPrefix = (id: string, file: string) => `${modelPrefix(id)}shard:${file}:chunk:`;
const chunkKey = (id: string, file: string, index: number) => `${shardPrefix(id, file)}${index}`;

/** All keys starting with `prefix` (string keys sort by code unit, so '\uffff' closes the range). */
const prefixRange = (prefix: string) => IDBKeyRange.bound(prefix, `${prefix}\uffff`);

export class ModelStore {
  constructor(private readonly store: UseStore = createStore(MODELS_DATABASE, MODELS_OBJECT_STORE)) {}

  record(id: string): Promise<StoredModelRecord | undefined> {
    return get<StoredModelRecord>(recordKey(id), this.store);
  }

  /** Every stored model's record (complete or not). */
  records(): Promise<StoredModelRecord[]> {
    return this.store('readonly', async (store) => {
      const keys = await promisifyRequest(store.getAllKeys(IDBKeyRange.bound('model:', 'model:\uffff')));
      const ids = keys.map(String).filter((key) => key.endsWith(':record'));
      return Promise.all(ids.map((key) => promisifyRequest(store.get(key) as IDBRequest<StoredModelRecord>)));
    });
  }

  putRecord(record: StoredModelRecord): Promise<void> {
    return setMany([[recordKey(record.entry.id), record]], this.store);
  }

  manifest(id: string): Promise<unknown> {
    return get(manifestKey(id), this.store);
  }

  putManifest(id: string, manifest: unknown): Promise<void> {
    return setMany([[manifestKey(id), manifest]], this.store);
  }

  file(id: string, name: string): Promise<string | undefined> {
    return get<string>(fileKey(id, name), this.store);
  }

  putFile(id: string, name: string, text: string): Promise<void> {
    return setMany([[fileKey(id, name), text]], this.store);
  }

  chunk(id: string, file: string, index: number): Promise<Uint8Array | undefined> {
    return get<Uint8Array>(chunkKey(id, file, index), this.store);
  }

  chunks(id: string, file: string, indices: number[]): Promise<(Uint8Array | undefined)[]> {
    return getMany<Uint8Array>(indices.map((index) => chunkKey(id, file, index)), this.store);
  }

  /** Stores chunk `index` of a shard together with the record that now counts it (one transaction). */
  putChunk(record: StoredModelRecord, file: string, index: number, bytes: Uint8Array): Promise<void> {
    return setMany([[chunkKey(record.entry.id, file, index), bytes], [recordKey(record.entry.id), record]], this.store);
  }

  /** Deletes a shard's chunks and stores the record that says so (one transaction). */
  async dropShard(record: StoredModelRecord, file: string): Promise<void> {
    await this.store('readwrite', (store) => {
      store.delete(prefixRange(shardPrefix(record.entry.id, file)));
      store.put(record, recordKey(record.entry.id));
      return promisifyRequest(store.transaction);
    });
  }

  /** Deletes everything stored for model `id`, its record included, in one transaction. */
  async deleteModel(id: string): Promise<void> {
    await this.store('readwrite', (store) => {
      store.delete(prefixRange(modelPrefix(id)));
      return promisifyRequest(store.transaction);
    });
  }
}

/** Bytes a record says are stored: its shards' stored chunks. */
export function storedBytes(record: StoredModelRecord): number {
  return Object.values(record.shards).reduce((sum, shard) => sum + shard.bytes, 0);
}
