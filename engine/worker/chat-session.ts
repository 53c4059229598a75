// One loaded model's chat loop. It remembers which conversation the latent cache holds and the ids in it (prompt +
// every generated id but the last, as generate() leaves them). A new request of the same conversation whose prompt
// starts with some of those ids rolls model.position back to the longest common prefix (engine/kv/prefix-match.ts)
// and prefills only the rest (at least one token, so the first new token has its logits); another conversation, or
// nothing in common, starts from an empty cache. The sampler's seen set is rebuilt from the kept ids, so a continued answer equals a
// from-scratch one. Text streams through IncrementalDetokenizer with special tokens hidden; Stop aborts generate()
// through an AbortController within one token. One chat at a time: a second call while one runs is refused.
import { EngineError } from '../errors';
import { generate, resetSeenTokens, type GenerationResult } from '../generate/generator';
import type { SamplingSettings } from '../kernels/sample';
import { planPrefix } from '../kv/prefix-match';
import type { DeepseekForward } from '../model/forward';
import type { ChatTokenizer } from '../tokenizer/chat-tokenizer';
import { IncrementalDetokenizer } from '../tokenizer/incremental-detokenizer';
import type { AttentionChoice, ChatRequest, ChatResult, ChatStats, SamplingRequest, TokenEvent } from './protocol';

export interface SessionModel {
  model: DeepseekForward;
  tokenizer: ChatTokenizer;
  latentBytesPerToken: number;
  fullKvBytesPerToken: number;
}

function samplingSettings(request: SamplingRequest): SamplingSettings {
  const seed = request.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
  return { temperature: request.temperature, topK: request.topK, topP: request.topP, repetitionPenalty: request.repetitionPenalty, seed };
}

export class ChatSession {
  private conversationId: string | null = null;
  private cachedIds: number[] = [];
  private controller: AbortController | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly loaded: SessionModel) {}

  get busy(): boolean {
    return this.controller !== null;
  }

  /** The conversation whose ids the latent cache holds, and those ids (for tests and diagnostics). */
  get cache(): { conversationId: string | null; ids: readonly number[] } {
    return { conversationId: this.conversationId, ids: this.cachedIds };
  }

  stop(): void {
    this.controller?.abort();
  }

  /** Resolves once no chat runs (whatever its outcome). */
  async idle(): Promise<void> {
    await this.running.catch(() => {});
  }

  forget(conversationId?: string): void {
    if (conversationId !== undefined && conversationId !== this.conversationId) return;
    this.conversationId = null;
    this.cachedIds = [];
    this.loaded.model.reset();
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
    const reused = this.rollBack(request.conversationId, prompt);
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
      this.forget(); // the cache may hold anything now
      throw error;
    }
    const tail = detokenizer.flush();
    if (tail) emit(tail);
    this.cachedIds = [...prompt, ...result.ids.slice(0, -1)].slice(0, model.position);
    return { text, finishReason: result.stopReason, stats: this.stats(result, prompt.length - reused, reused, attention, firstTokenAt ? firstTokenAt - started : 0) };
  }

  /** Sets model.position to the reusable prefix of `prompt` for this conversation; returns its length. */
  private rollBack(conversationId: string, prompt: number[]): number {
    const { model } = this.loaded;
    const sameConversation = conversationId === this.conversationId;
    const reused = sameConversation ? planPrefix(this.cachedIds, prompt).keep : 0;
    this.conversationId = conversationId;
    this.cachedIds = prompt.slice(0, reused);
    model.position = reused;
    if (reused === 0) model.reset();
    else resetSeenTokens(model, this.cachedIds);
    return reused;
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
