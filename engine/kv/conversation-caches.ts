// GPU residency of conversations' latent caches for one model instance. The model's scratch caches hold the
// active conversation's rows; every other conversation keeps its rows in its own GPU buffers (per layer: latent
// rows [tokens, rKV + dR], then indexer key rows [tokens, dI]), sized to its tokens. Activating a conversation
// copies the outgoing one's rows out and the incoming one's rows in with copyBufferToBuffer, in one submit; the
// copies are exact f32, so a conversation continues exactly as if it had never been swapped out. Inactive copies
// live under a byte budget, least recently used freed first; a freed conversation comes back 'empty' (restore it
// from a stored snapshot with writeLatentRows, or prefill it). Each cache records the exact token ids its rows
// encode and the model identity (name + manifest hash) they were computed with.
import type { DeepseekForward } from '../model/forward';
import { createStorage } from '../gpu/buffers';
import { rowLayout } from './row-encoding';

export interface ModelIdentity {
  name: string;
  manifestHash: string;
}

export interface ConversationCache {
  readonly conversationId: string;
  readonly model: ModelIdentity;
  /** The token ids rows 0..n-1 encode, in order. */
  tokenIds: number[];
  /** Per layer, its rows on the GPU while inactive; null while active (rows in scratch) or after eviction. */
  gpuCopy: GPUBuffer[] | null;
  lastUsed: number;
}

/** What activate found: rows already in scratch, rows swapped in from the GPU copy, or no rows (position 0). */
export type Activation = 'active' | 'swapped-in' | 'empty';

export class ConversationCaches {
  private readonly caches = new Map<string, ConversationCache>();
  private activeId: string | null = null;
  private clock = 0;

  constructor(readonly model: DeepseekForward, readonly identity: ModelIdentity, public budgetBytes: number) {}

  get active(): ConversationCache | null {
    return this.activeId === null ? null : this.caches.get(this.activeId)!;
  }

  get(conversationId: string): ConversationCache | undefined {
    return this.caches.get(conversationId);
  }

  /** Bytes held by inactive conversations' GPU copies (the budgeted part; the active rows live in scratch). */
  get gpuBytes(): number {
    let bytes = 0;
    for (const cache of this.caches.values()) bytes += copyBytes(cache);
    return bytes;
  }

  /** Sets the budget of inactive conversations' GPU copies and frees the least recently used over it at once. */
  setBudget(bytes: number): void {
    this.budgetBytes = bytes;
    this.evictOverBudget();
  }

  /** Makes `conversationId` the one in the model's caches; model.position becomes its cached token count. */
  activate(conversationId: string): Activation {
    const incoming = this.caches.get(conversationId);
    if (this.activeId === conversationId && incoming) {
      incoming.lastUsed = ++this.clock;
      return 'active';
    }
    const { device } = this.model.ctx;
    const encoder = device.createCommandEncoder({ label: 'conversation_swap' });
    const outgoing = this.active;
    if (outgoing) this.copyOut(encoder, outgoing);
    const cache = incoming ?? { conversationId, model: this.identity, tokenIds: [], gpuCopy: null, lastUsed: 0 };
    this.caches.set(conversationId, cache);
    const incomingCopy = cache.gpuCopy;
    if (incomingCopy) this.copyIn(encoder, incomingCopy, cache.tokenIds.length);
    device.queue.submit([encoder.finish()]);
    incomingCopy?.forEach((buffer) => buffer.destroy()); // freed once the submitted copy has run
    cache.gpuCopy = null;
    if (!incomingCopy) cache.tokenIds = [];
    cache.lastUsed = ++this.clock;
    this.activeId = conversationId;
    this.model.position = cache.tokenIds.length;
    this.evictOverBudget();
    return incomingCopy ? 'swapped-in' : 'empty';
  }

  /** Records the token ids the active conversation's rows now encode (one per cached row: model.position ids). */
  commit(tokenIds: readonly number[]): void {
    const cache = this.active;
    if (!cache) throw new Error('commit needs an active conversation (call activate first)');
    if (tokenIds.length !== this.model.position) {
      throw new RangeError(`the model holds ${this.model.position} cached rows but ${tokenIds.length} token ids were given`);
    }
    cache.tokenIds = [...tokenIds];
  }

  /** Rolls the active conversation back to its first `keep` rows (engine/kv/prefix-match.ts decides how many). */
  rollBack(keep: number): void {
    const cache = this.active;
    if (!cache || !Number.isInteger(keep) || keep < 0 || keep > cache.tokenIds.length) {
      throw new RangeError(`cannot keep ${keep} rows of the active conversation's ${cache?.tokenIds.length ?? 0}`);
    }
    cache.tokenIds.length = keep;
    this.model.position = keep;
  }

  /** Drops a conversation's cache (its GPU copy is freed; an active one leaves the model at position 0). */
  forget(conversationId: string): void {
    const cache = this.caches.get(conversationId);
    if (!cache) return;
    cache.gpuCopy?.forEach((buffer) => buffer.destroy());
    this.caches.delete(conversationId);
    if (this.activeId === conversationId) {
      this.activeId = null;
      this.model.position = 0;
    }
  }

  dispose(): void {
    for (const id of [...this.caches.keys()]) this.forget(id);
  }

  /** Copies the active rows (those its token ids record) from scratch into new buffers sized to them. */
  private copyOut(encoder: GPUCommandEncoder, cache: ConversationCache): void {
    const tokens = Math.min(cache.tokenIds.length, this.model.position);
    cache.tokenIds.length = tokens;
    if (tokens === 0) return;
    const { latentWidth, indexerWidth } = rowLayout(this.model.config);
    const { latentCache, indexer } = this.model.scratch;
    const latentBytes = tokens * latentWidth * 4;
    cache.gpuCopy = latentCache.map((buffer, l) => {
      const copy = createStorage(this.model.ctx.device, latentBytes + tokens * indexerWidth * 4, `conversation_cache.${l}`);
      encoder.copyBufferToBuffer(buffer, 0, copy, 0, latentBytes);
      if (indexer) encoder.copyBufferToBuffer(indexer.keyCache[l], 0, copy, latentBytes, tokens * indexerWidth * 4);
      return copy;
    });
  }

  private copyIn(encoder: GPUCommandEncoder, copy: GPUBuffer[], tokens: number): void {
    const { latentWidth, indexerWidth } = rowLayout(this.model.config);
    const { latentCache, indexer } = this.model.scratch;
    const latentBytes = tokens * latentWidth * 4;
    copy.forEach((buffer, l) => {
      encoder.copyBufferToBuffer(buffer, 0, latentCache[l], 0, latentBytes);
      if (indexer) encoder.copyBufferToBuffer(buffer, latentBytes, indexer.keyCache[l], 0, tokens * indexerWidth * 4);
    });
  }

  private evictOverBudget(): void {
    const held = [...this.caches.values()].filter((cache) => cache.gpuCopy).sort((a, b) => a.lastUsed - b.lastUsed);
    let bytes = this.gpuBytes;
    for (const cache of held) {
      if (bytes <= this.budgetBytes) break;
      bytes -= copyBytes(cache);
      cache.gpuCopy!.forEach((buffer) => buffer.destroy());
      cache.gpuCopy = null;
      cache.tokenIds = [];
    }
  }
}

function copyBytes(cache: ConversationCache): number {
  return cache.gpuCopy?.reduce((sum, buffer) => sum + buffer.size, 0) ?? 0;
}
