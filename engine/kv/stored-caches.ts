// Conversations' latent caches saved outside the GPU (IndexedDB in the worker, through the KvStore interface of
// engine/kv/kv-store.ts). Per conversation one record `conversation:<id>` (model identity, the token ids all its
// chunks encode, its chunks, bytes, last use) and one record per chunk `chunk:<id>:<from>` (encoded rows
// [from, from + tokens) in f16 or int8 — engine/kv/row-encoding.ts — with the exact token ids they encode and the
// model identity). Each answer appends one chunk; when the ids diverge (edited message, regenerated answer) the
// chunks past the common prefix are dropped first. Restoring checks the identity, keeps the longest prefix of the
// prompt the chunks encode, and stops at a missing, damaged or mismatching chunk (dropping it and the rest). The
// total stored bytes stay under a budget: least recently used conversations lose their cache first. All writes
// run one after another; the records are loaded once into memory so the session can plan a save synchronously.
// Lowering the budget applies at once (enforceBudgetNow); summaries() reports what is stored after queued writes.
import type { DeepseekForward } from '../model/forward';
import type { ModelIdentity } from './conversation-caches';
import type { KvStore } from './kv-store';
import type { LatentSnapshot } from './latent-rows';
import { writeLatentRows } from './latent-rows';
import { commonPrefixLength } from './prefix-match';
import { encodedBytes, type EncodedRows, type KvEncoding } from './row-encoding';

export const DEFAULT_STORED_BUDGET_BYTES = 512 * 1024 * 1024;

export interface StoredChunkRef {
  key: string;
  from: number;
  tokens: number;
  bytes: number;
  encoding?: KvEncoding; // absent in records saved before it was kept
}

/** What the UI shows of one conversation's stored cache: bytes, tokens and the formats its chunks use. */
export interface StoredCacheSummary {
  bytes: number;
  tokens: number;
  encodings: KvEncoding[];
}

export interface StoredConversation {
  model: ModelIdentity;
  tokenIds: number[]; // what chunks[0..] encode, in order
  chunks: StoredChunkRef[];
  bytes: number;
  lastUsed: number;
}

export interface StoredChunk extends EncodedRows {
  from: number;
  tokenIds: number[];
  model: ModelIdentity;
}

export interface StoredCacheOptions {
  encoding: KvEncoding;
  budgetBytes: number;
}

const META = 'conversation:';

function sameModel(a: ModelIdentity, b: ModelIdentity): boolean {
  return a.name === b.name && a.manifestHash === b.manifestHash;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && commonPrefixLength(a, b) === a.length;
}

export class StoredCaches {
  private readonly records = new Map<string, StoredConversation>();
  private writes: Promise<unknown> = Promise.resolve();
  private clock = Date.now();
  /** Resolves once the records are loaded (an unreadable store leaves none). */
  readonly ready: Promise<void>;

  constructor(private readonly store: KvStore, public options: StoredCacheOptions) {
    this.ready = this.load();
  }

  /** Stored bytes per conversation. */
  sizes(): Record<string, number> {
    return Object.fromEntries([...this.records].map(([id, record]) => [id, record.bytes]));
  }

  /** Per conversation, its stored bytes, tokens and chunk formats, once every queued write has finished. */
  async summaries(): Promise<Record<string, StoredCacheSummary>> {
    await this.settled();
    return Object.fromEntries([...this.records].map(([id, record]) => {
      const encodings = [...new Set(record.chunks.flatMap((chunk) => (chunk.encoding ? [chunk.encoding] : [])))];
      return [id, { bytes: record.bytes, tokens: record.tokenIds.length, encodings }];
    }));
  }

  /** Applies options.budgetBytes now: least recently used conversations lose their cache until the rest fits. */
  enforceBudgetNow(): Promise<void> {
    return this.serially(() => this.enforceBudget(null));
  }

  /** Resolves once the records are loaded and no write is queued (writes queued meanwhile are waited for too). */
  async settled(): Promise<void> {
    await this.ready;
    let writes: Promise<unknown>;
    do {
      writes = this.writes;
      await writes.catch(() => {});
    } while (writes !== this.writes);
  }

  get totalBytes(): number {
    let bytes = 0;
    for (const record of this.records.values()) bytes += record.bytes;
    return bytes;
  }

  record(conversationId: string): StoredConversation | undefined {
    return this.records.get(conversationId);
  }

  /** The first row a save of `tokenIds` must write: the end of the last stored chunk that still matches. */
  appendFrom(conversationId: string, model: ModelIdentity, tokenIds: readonly number[]): number {
    const record = this.records.get(conversationId);
    if (!record || !sameModel(record.model, model)) return 0;
    const matching = commonPrefixLength(record.tokenIds, tokenIds);
    let from = 0;
    for (const chunk of record.chunks) if (chunk.from + chunk.tokens <= matching) from = chunk.from + chunk.tokens;
    return from;
  }

  /** Stores `rows` (rows [from, tokenIds.length)) after the chunks that match; then enforces the budget. */
  append(conversationId: string, model: ModelIdentity, tokenIds: readonly number[], rows: Promise<LatentSnapshot>): Promise<void> {
    return this.serially(async () => {
      const snapshot = await rows;
      const from = snapshot.from;
      const to = from + snapshot.tokens;
      if (to !== tokenIds.length) throw new RangeError(`rows [${from}, ${to}) do not end at the ${tokenIds.length} token ids`);
      let record = this.records.get(conversationId);
      if (record && !sameModel(record.model, model)) {
        await this.drop(conversationId);
        record = undefined;
      }
      record ??= { model, tokenIds: [], chunks: [], bytes: 0, lastUsed: 0 };
      await this.truncate(conversationId, record, from);
      if (record.tokenIds.length !== from) throw new RangeError(`the stored cache ends at ${record.tokenIds.length}, not at ${from}`);
      if (snapshot.tokens > 0) {
        const key = `chunk:${conversationId}:${from}`;
        const chunk: StoredChunk = { ...snapshot, from, tokenIds: tokenIds.slice(from, to), model };
        await this.store.set(key, chunk);
        const bytes = encodedBytes(snapshot);
        record.chunks.push({ key, from, tokens: snapshot.tokens, bytes, encoding: snapshot.encoding });
        record.tokenIds = tokenIds.slice(0, to);
        record.bytes += bytes;
      }
      record.lastUsed = ++this.clock;
      await this.put(conversationId, record);
      await this.enforceBudget(conversationId);
    });
  }

  /**
   * Writes the stored rows of `conversationId` that encode a prefix of `prompt` into the model's caches (from
   * position 0; the model must be at position 0) and returns how many rows it wrote (model.position). Another
   * model's cache is dropped; a missing, damaged or mismatching chunk ends the restore and is dropped with the
   * chunks after it. At most prompt.length - 1 rows are kept (the last prompt token must run for its logits).
   */
  async restore(conversationId: string, model: ModelIdentity, prompt: readonly number[], forward: DeepseekForward): Promise<number> {
    await this.ready;
    await this.writes.catch(() => {});
    const record = this.records.get(conversationId);
    if (!record) return 0;
    if (!sameModel(record.model, model)) {
      await this.serially(() => this.drop(conversationId));
      return 0;
    }
    const wanted = Math.min(commonPrefixLength(record.tokenIds, prompt), prompt.length - 1);
    let restored = 0;
    for (const ref of record.chunks) {
      if (ref.from >= wanted || ref.from + ref.tokens > forward.scratch.maxContext) break;
      const chunk = await this.store.get<StoredChunk>(ref.key).catch(() => undefined);
      if (!this.intact(chunk, ref, record, model) || !this.written(forward, chunk!)) {
        await this.serially(() => this.truncate(conversationId, record, ref.from).then(() => this.put(conversationId, record)));
        break;
      }
      restored = ref.from + ref.tokens;
    }
    forward.position = Math.min(restored, wanted);
    record.lastUsed = ++this.clock;
    await this.serially(() => this.put(conversationId, record)).catch(() => {});
    return forward.position;
  }

  /** Deletes a conversation's stored cache. */
  forget(conversationId: string): Promise<void> {
    return this.serially(() => this.drop(conversationId));
  }

  private intact(chunk: StoredChunk | undefined, ref: StoredChunkRef, record: StoredConversation, model: ModelIdentity): boolean {
    return chunk !== undefined && chunk.from === ref.from && chunk.tokens === ref.tokens && Array.isArray(chunk.tokenIds)
      && sameModel(chunk.model, model) && sameIds(chunk.tokenIds, record.tokenIds.slice(ref.from, ref.from + ref.tokens));
  }

  private written(forward: DeepseekForward, chunk: StoredChunk): boolean {
    try {
      writeLatentRows(forward, chunk, chunk.from);
      return true;
    } catch {
      return false; // damaged rows (wrong length, missing scales): prefill from here instead
    }
  }

  private async load(): Promise<void> {
    try {
      for (const key of await this.store.keys()) {
        if (!key.startsWith(META)) continue;
        const record = await this.store.get<StoredConversation>(key);
        if (record && Array.isArray(record.chunks) && Array.isArray(record.tokenIds)) this.records.set(key.slice(META.length), record);
      }
    } catch {
      this.records.clear(); // an unreadable store: nothing to restore, saves will report their own errors
    }
    for (const record of this.records.values()) this.clock = Math.max(this.clock, record.lastUsed);
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.writes.catch(() => {});
    const next = this.ready.then(() => previous).then(work);
    this.writes = next;
    return next;
  }

  private async put(conversationId: string, record: StoredConversation): Promise<void> {
    this.records.set(conversationId, record);
    await this.store.set(META + conversationId, record);
  }

  /** Drops the chunks that reach past row `keep`; the record then encodes the ids before the first dropped one. */
  private async truncate(conversationId: string, record: StoredConversation, keep: number): Promise<void> {
    const dropped = record.chunks.filter((chunk) => chunk.from + chunk.tokens > keep);
    for (const chunk of dropped) await this.store.del(chunk.key);
    record.chunks = record.chunks.filter((chunk) => chunk.from + chunk.tokens <= keep);
    const end = record.chunks.reduce((most, chunk) => Math.max(most, chunk.from + chunk.tokens), 0);
    record.tokenIds = record.tokenIds.slice(0, end);
    record.bytes = record.chunks.reduce((sum, chunk) => sum + chunk.bytes, 0);
    if (dropped.length > 0 && this.records.has(conversationId)) this.records.set(conversationId, record);
  }

  private async drop(conversationId: string): Promise<void> {
    const record = this.records.get(conversationId);
    this.records.delete(conversationId);
    for (const chunk of record?.chunks ?? []) await this.store.del(chunk.key);
    await this.store.del(META + conversationId);
  }

  /** Least recently used conversations lose their cache until the total fits (the one just saved, if any, goes last). */
  private async enforceBudget(saved: string | null): Promise<void> {
    const order = [...this.records].sort(([a, x], [b, y]) => (a === saved ? 1 : b === saved ? -1 : x.lastUsed - y.lastUsed));
    for (const [id] of order) {
      if (this.totalBytes <= this.options.budgetBytes) break;
      await this.drop(id);
    }
  }
}
