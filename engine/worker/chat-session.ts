// One loaded model's chat loop. Each conversation's latent cache is kept by engine/kv/conversation-caches.ts (the
// active one in the model's caches, the most recent others in GPU copies within a byte budget) with the ids it
// encodes (prompt + every generated id but the last, as generate() leaves them); switching conversations swaps
// caches. A conversation not on the GPU is restored from the stored caches (engine/kv/stored-caches.ts, IndexedDB
// in the worker) when they hold it for this model. A request rolls model.position back to the longest common
// prefix of cache and prompt (engine/kv/prefix-match.ts) and prefills only the rest (at least one token, so the
// first new token has its logits). After each answer (a stopped one too) the new rows are read back and appended
// to the store without holding the answer up; a failed save goes to onStoreError. The sampler's seen set is rebuilt from the kept ids, so a continued answer equals a
// from-scratch one. Text streams through IncrementalDetokenizer with special tokens hidden; Stop aborts generate()
// through an AbortController within one token. One chat at a time: a second call while one runs is refused.
import { EngineError } from '../errors';
import { generate, resetSeenTokens, type GenerationResult } from '../generate/generator';
import type { SamplingSettings } from '../kernels/sample';
import { ConversationCaches, type ModelIdentity } from '../kv/conversation-caches';
import { readLatentRows } from '../kv/latent-rows';
import { planPrefix } from '../kv/prefix-match';
import type { StoredCaches } from '../kv/stored-caches';
import type { DeepseekForward } from '../model/forward';
import type { ChatTokenizer } from '../tokenizer/chat-tokenizer';
import { IncrementalDetokenizer } from '../tokenizer/incremental-detokenizer';
import type { AttentionChoice, ChatRequest, ChatResult, ChatStats, SamplingRequest, TokenEvent } from './protocol';

export interface SessionModel {
  model: DeepseekForward;
  tokenizer: ChatTokenizer;
  latentBytesPerToken: number;
  fullKvBytesPerToken: number;
  identity?: ModelIdentity; // name + manifest hash; stored caches are only restored for the same
}

export interface SessionOptions {
  gpuBudgetBytes?: number; // inactive conversations' GPU copies (default 256 MiB)
  stored?: StoredCaches; // where caches are saved and restored from (none: GPU only)
  onStoreError?: (error: EngineError) => void; // a failed save or restore (the answer itself is unaffected)
}

export const DEFAULT_GPU_BUDGET_BYTES = 256 * 1024 * 1024;

function samplingSettings(request: SamplingRequest): SamplingSettings {
  const seed = request.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
  return { temperature: request.temperature, topK: request.topK, topP: request.topP, repetitionPenalty: request.repetitionPenalty, seed };
}

export class ChatSession {
  readonly caches: ConversationCaches;
  private controller: AbortController | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly loaded: SessionModel, private readonly options: SessionOptions = {}) {
    this.caches = new ConversationCaches(loaded.model, this.identity, options.gpuBudgetBytes ?? DEFAULT_GPU_BUDGET_BYTES);
  }

  get identity(): ModelIdentity {
    return this.loaded.identity ?? { name: 'unnamed model', manifestHash: '' };
  }

  get busy(): boolean {
    return this.controller !== null;
  }

  /** The conversation whose ids the latent cache holds, and those ids (for tests and diagnostics). */
  get cache(): { conversationId: string | null; ids: readonly number[] } {
    const active = this.caches.active;
    return { conversationId: active?.conversationId ?? null, ids: active?.tokenIds ?? [] };
  }

  stop(): void {
    this.controller?.abort();
  }

  /** Resolves once no chat runs (whatever its outcome). */
  async idle(): Promise<void> {
    await this.running.catch(() => {});
  }

  /** Drops a conversation's cache, on the GPU and stored (deleted conversation); no id: the active one's GPU rows. */
  forget(conversationId?: string): void {
    const id = conversationId ?? this.caches.active?.conversationId;
    if (id === undefined) return;
    this.caches.forget(id); // the active one's leaves the model at position 0
    if (conversationId !== undefined) this.report(this.options.stored?.forget(conversationId));
  }

  async chat(request: ChatRequest, onToken: (event: TokenEvent) => unknown = () => {}): Promise<ChatResult> {
    if (this.controller) {
      throw new EngineError('ABORTED',
        'An answer is still being generated, so this request was not started. Wait for it to finish or press Stop, then send again.',
        { reason: 'busy' });
    }
    const controller = new AbortController();
    this.controller = controller;
    const answer = this.answer(request, onToken, controller.signal);
    this.running = answer;
    try {
      return await answer;
    } finally {
      this.controller = null;
    }
  }

  private async answer(request: ChatRequest, onToken: (event: TokenEvent) => unknown, signal: AbortSignal): Promise<ChatResult> {
    const started = performance.now();
    const { model, tokenizer } = this.loaded;
    const prompt = tokenizer.encodeChat(request.messages);
    const maxContext = model.scratch.maxContext;
    if (prompt.length > maxContext) {
      throw new EngineError('CONTEXT_FULL',
        `This conversation is ${prompt.length} tokens long but the model holds at most ${maxContext}. Start a new conversation (or shorten the messages).`,
        { needed: prompt.length, maxContext });
    }
    const { reused, restored } = await this.rollBack(request.conversationId, prompt);
    const attention: AttentionChoice = request.attention === 'sparse' && model.config.indexer ? 'sparse' : 'dense';
    const detokenizer = new IncrementalDetokenizer(tokenizer, { skipSpecialTokens: true });
    let text = '';
    let generatedTokens = 0;
    let firstTokenAt = 0;
    const emit = (delta: string) => {
      text += delta;
      try { // a Comlink proxy answers with a promise; the loop never waits for the UI
        void Promise.resolve(onToken({ delta, generatedTokens })).catch(() => {});
      } catch { /* a UI callback that throws does not stop the answer */ }
    };
    let result: GenerationResult;
    try {
      result = await generate(model, prompt.slice(reused), samplingSettings(request.sampling), {
        maxNewTokens: request.sampling.maxNewTokens, signal, stopTokenIds: tokenizer.stopTokenIds, attention,
        onToken: (id) => {
          generatedTokens++;
          if (generatedTokens === 1) firstTokenAt = performance.now();
          emit(detokenizer.push(id));
        },
      });
    } catch (error) {
      this.caches.forget(request.conversationId); // the cache may hold anything now
      model.reset();
      throw error;
    }
    const tail = detokenizer.flush();
    if (tail) emit(tail);
    const cachedIds = [...prompt, ...result.ids.slice(0, -1)].slice(0, model.position);
    this.caches.commit(cachedIds);
    this.save(request.conversationId, cachedIds);
    const stats = this.stats(result, prompt.length - reused, reused, attention, firstTokenAt ? firstTokenAt - started : 0);
    return { text, finishReason: result.stopReason, stats: restored > 0 ? { ...stats, restoredTokens: restored } : stats };
  }

  /**
   * Activates the conversation's cache (swapping GPU caches; restoring stored rows when it has none on the GPU),
   * then sets model.position to the reusable prefix of `prompt`. Returns that length and how much of it was restored.
   */
  private async rollBack(conversationId: string, prompt: number[]): Promise<{ reused: number; restored: number }> {
    const { model } = this.loaded;
    let restored = 0;
    if (this.caches.activate(conversationId) === 'empty' && this.options.stored) {
      try {
        restored = await this.options.stored.restore(conversationId, this.identity, prompt, model);
      } catch (error) {
        model.position = 0;
        this.report(Promise.reject(error));
      }
      this.caches.commit(prompt.slice(0, model.position));
    }
    const reused = planPrefix(this.caches.active!.tokenIds, prompt).keep;
    this.caches.rollBack(reused);
    if (reused === 0) model.reset();
    else resetSeenTokens(model, prompt.slice(0, reused));
    return { reused, restored: Math.min(restored, reused) };
  }

  /** Appends the rows the store lacks; the GPU read is submitted now (before any later answer changes the rows). */
  private save(conversationId: string, cachedIds: number[]): void {
    const { stored } = this.options;
    if (!stored) return;
    const from = Math.min(stored.appendFrom(conversationId, this.identity, cachedIds), cachedIds.length);
    if (from === cachedIds.length) return;
    try {
      const rows = readLatentRows(this.loaded.model, from, cachedIds.length, stored.options.encoding);
      this.report(stored.append(conversationId, this.identity, cachedIds, rows));
    } catch (error) {
      this.report(Promise.reject(error));
    }
  }

  /** A failed store operation becomes a non-fatal EngineError for onStoreError. */
  private report(work: Promise<unknown> | undefined): void {
    void work?.catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      const engineError = error instanceof EngineError ? error : new EngineError('QUOTA',
        `Saving the conversation's cache to browser storage failed (${why}). The answer is kept; the next one after a reload prefills instead. Free storage or lower the cache budget.`,
        { reason: why });
      try {
        this.options.onStoreError?.(engineError);
      } catch { /* a listener's failure does not matter here */ }
    });
  }

  private stats(result: GenerationResult, prefillTokens: number, reusedTokens: number, attention: AttentionChoice,
    timeToFirstTokenMs: number): ChatStats {
    const { stats } = result;
    const prefilled = result.ids.length > 0 ? prefillTokens : 0;
    const contextTokens = this.loaded.model.position;
    return {
      prefillTokens: prefilled,
      reusedTokens,
      prefillTokensPerSecond: stats.prefillMs > 0 ? prefilled / (stats.prefillMs / 1000) : 0,
      decodeTokensPerSecond: stats.decodeMs > 0 ? stats.decodeTokens / (stats.decodeMs / 1000) : 0,
      timeToFirstTokenMs,
      generatedTokens: result.ids.length,
      contextTokens,
      latentKvBytes: contextTokens * this.loaded.latentBytesPerToken,
      fullKvBytes: contextTokens * this.loaded.fullKvBytesPerToken,
      attention,
      decodeSeries: stats.decodeSeries.map(({ contextTokens: tokens, ms }) => ({ contextTokens: tokens, ms })),
      dispatchesPerToken: stats.dispatchesPerDecodeToken,
      submitsPerToken: stats.submitsPerDecodeToken,
    };
  }
}
