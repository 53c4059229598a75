// The worker's chat loop on a small V3.2-shaped model with the real DeepSeek-V3 tokenizer (random weights, DSA
// index_topk 16; tests/support/small-chat-model.ts) on SwiftShader, loaded over HTTP: a second turn prefills only what the cache does not hold, an edited earlier
// message falls back to the common prefix, and either way the answer equals a from-scratch run's at temperature 0
// (with a repetition penalty, so the rebuilt seen set matters, and past index_topk, so DSA really selects);
// Stop ends the answer within one token; a second chat while one runs is refused; a prompt longer than the
// context is CONTEXT_FULL and leaves the cache alone; stats add up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEngineError } from '../../engine/errors';
import { commonPrefixLength } from '../../engine/kv/prefix-match';
import type { EngineHost } from '../../engine/worker/engine-host';
import type { ChatRequest, ChatResult, ChatTurn, TokenEvent } from '../../engine/worker/protocol';
import { hostServing, type HostedModels } from '../support/engine-host';
import { writeSmallChatModels, type SmallChatModels } from '../support/small-chat-model';

let models: SmallChatModels;
let hosted: HostedModels;
let host: EngineHost;
beforeAll(async () => {
  models = await writeSmallChatModels();
  hosted = await hostServing(models.modelsDir);
  host = hosted.host;
  await host.loadModel(hosted.entries[0]);
});
afterAll(async () => {
  await hosted?.server.close();
  await models?.remove();
});

// Long enough that the prompt passes the model's index_topk (16), so sparse attention selects keys.
const SYSTEM = 'You are a careful assistant. Answer briefly.';
const GREEDY_WITH_PENALTY = { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1.3, maxNewTokens: 3 };

function request(conversationId: string, messages: ChatTurn[], maxNewTokens = 3): ChatRequest {
  return { conversationId, messages, sampling: { ...GREEDY_WITH_PENALTY, maxNewTokens }, attention: 'sparse' };
}

async function chat(req: ChatRequest): Promise<ChatResult & { events: TokenEvent[] }> {
  const events: TokenEvent[] = [];
  const result = await host.chat(req, (event) => { events.push(event); });
  return { ...result, events };
}

function encode(messages: ChatTurn[]): number[] {
  return host.loadedModel!.tokenizer.encodeChat(messages);
}

function cachedIds(): number[] {
  return [...host.session!.cache.ids];
}

describe('chat session', () => {
  const firstTurn: ChatTurn[] = [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'What is the capital of France?' }];
  let first: ChatResult;

  it('a first turn prefills the whole prompt and streams its text; stats add up', async () => {
    const prompt = encode(firstTurn);
    expect(prompt.length).toBeGreaterThan(16);
    const result = await chat(request('a', firstTurn));
    first = result;
    const { stats } = result;
    expect(result.finishReason).toBe('length');
    expect([stats.reusedTokens, stats.prefillTokens, stats.generatedTokens]).toEqual([0, prompt.length, 3]);
    expect(stats.contextTokens).toBe(prompt.length + 2);
    expect(cachedIds().slice(0, prompt.length)).toEqual(prompt);
    expect(cachedIds().length).toBe(stats.contextTokens);
    expect(result.events.map((e) => e.generatedTokens).slice(0, 3)).toEqual([1, 2, 3]);
    expect(result.events.map((e) => e.delta).join('')).toBe(result.text);
    const loaded = host.loadedModel!;
    expect(stats.latentKvBytes).toBe(stats.contextTokens * loaded.latentBytesPerToken);
    expect(stats.fullKvBytes).toBe(stats.contextTokens * loaded.fullKvBytesPerToken);
    const positions = stats.decodeSeries.map((p) => p.contextTokens);
    expect(positions).toHaveLength(2);
    expect(positions[1] - positions[0]).toBe(1);
    expect(positions[1]).toBeLessThanOrEqual(stats.contextTokens + 1);
    expect(stats.attention).toBe('sparse');
    expect(stats.submitsPerToken).toBe(1);
    // Every kernel call of the sparse step dispatches at least once (DSA's top-k selection takes several passes).
    expect(Number.isInteger(stats.dispatchesPerToken)).toBe(true);
    expect(stats.dispatchesPerToken).toBeGreaterThanOrEqual(loaded.model.dispatchesPerStep('sparse'));
    expect(Math.min(stats.prefillTokensPerSecond, stats.decodeTokensPerSecond, stats.timeToFirstTokenMs)).toBeGreaterThan(0);
    console.log(`small chat model on SwiftShader: prefill ${stats.prefillTokensPerSecond.toFixed(1)} tok/s, decode ${stats.decodeTokensPerSecond.toFixed(1)} tok/s, first token ${stats.timeToFirstTokenMs.toFixed(0)} ms`);
  });

  it('a second turn prefills only the tokens after the cached prefix, and answers as a from-scratch run does', async () => {
    const before = cachedIds();
    const secondTurn: ChatTurn[] = [...firstTurn, { role: 'assistant', content: first.text }, { role: 'user', content: 'And of Italy?' }];
    const prompt = encode(secondTurn);
    const common = commonPrefixLength(before, prompt);
    expect(common).toBeGreaterThan(encode(firstTurn).length - 1);
    const continued = await chat(request('a', secondTurn));
    expect(continued.stats.reusedTokens).toBe(common);
    expect(continued.stats.prefillTokens).toBe(prompt.length - common);
    const continuedCache = cachedIds();
    const scratch = await chat(request('fresh-1', secondTurn));
    expect(scratch.stats.reusedTokens).toBe(0);
    expect(scratch.stats.prefillTokens).toBe(prompt.length);
    expect(cachedIds()).toEqual(continuedCache);
    expect(scratch.text).toBe(continued.text);
  });

  it('an edited earlier message falls back to the common prefix, and answers as a from-scratch run does', async () => {
    const original: ChatTurn[] = [...firstTurn, { role: 'assistant', content: first.text }, { role: 'user', content: 'And of Spain?' }];
    await chat(request('b', original));
    const before = cachedIds();
    const edited: ChatTurn[] = [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'What is the capital of Peru?' }];
    const prompt = encode(edited);
    const common = commonPrefixLength(before, prompt);
    expect(common).toBeLessThan(encode(firstTurn).length);
    const continued = await chat(request('b', edited));
    expect([continued.stats.reusedTokens, continued.stats.prefillTokens]).toEqual([common, prompt.length - common]);
    const continuedCache = cachedIds();
    const scratch = await chat(request('fresh-2', edited));
    expect(scratch.stats.reusedTokens).toBe(0);
    expect(cachedIds()).toEqual(continuedCache);
    expect(scratch.text).toBe(continued.text);
  });

  it('Stop ends the answer within one token with finishReason abort, and the next turn reuses the cache', async () => {
    const messages: ChatTurn[] = [{ role: 'user', content: 'Tell me a long story.' }];
    const events: TokenEvent[] = [];
    const result = await host.chat(request('c', messages, 200), (event) => {
      events.push(event);
      if (event.generatedTokens === 3) host.stop();
    });
    expect(result.finishReason).toBe('abort');
    expect(result.stats.generatedTokens).toBe(3);
    expect(events.map((e) => e.delta).join('')).toBe(result.text);
    const prompt = encode(messages);
    expect(result.stats.contextTokens).toBe(prompt.length + 2);
    const again = await chat(request('c', [...messages, { role: 'assistant', content: result.text }, { role: 'user', content: 'Go on.' }]));
    expect(again.stats.reusedTokens).toBeGreaterThanOrEqual(prompt.length);
  });

  it('refuses a second chat while one runs, then serves the next one', async () => {
    const messages: ChatTurn[] = [{ role: 'user', content: 'Count to ten.' }];
    let second: Promise<unknown> | undefined;
    const running = host.chat(request('d', messages, 200), (event) => {
      if (event.generatedTokens === 1) second = host.chat(request('e', messages), () => {}).then(() => 'served', (e: unknown) => e);
      if (event.generatedTokens === 2) host.stop();
    });
    expect((await running).finishReason).toBe('abort');
    const refused = await second;
    expect(isEngineError(refused, 'ABORTED'), String(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/still being generated.*Stop/);
    expect((await chat(request('e', messages))).stats.generatedTokens).toBe(3);
  });

  it('a prompt longer than the context is CONTEXT_FULL saying to start a new conversation; the cache is kept', async () => {
    const before = cachedIds();
    const long: ChatTurn[] = [{ role: 'user', content: 'word '.repeat(host.loadedModel!.maxContext + 10) }];
    const error = await host.chat(request('e', long), () => {}).then(() => undefined, (e: unknown) => e);
    expect(isEngineError(error, 'CONTEXT_FULL'), String(error)).toBe(true);
    expect((error as Error).message).toContain('Start a new conversation');
    expect(cachedIds()).toEqual(before);
    expect(host.session!.cache.conversationId).toBe('e');
  });
});
