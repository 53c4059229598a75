// The worker's chat loop with stored caches (engine/kv/stored-caches.ts over an in-memory KvStore; the browser's
// IndexedDB is checked in tests/e2e/kv-restore.test.ts) on the small V3.2-shaped chat model on SwiftShader:
// switching conversations swaps GPU caches (the one switched back to prefills only its new message, nothing is
// restored); a second host on the same store (a reload) restores the conversation, prefills only what the store
// does not hold, and answers as the first host, which never lost its cache, does (greedy). configureKvCache: the
// format applies to the next saved rows (bytes per token as the loaded model reports), a lowered budget evicts at
// once on the GPU and in the store, and invalid values are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNodeWebGpu } from '../../engine/gpu/node-gpu';
import { kvBytesPerToken } from '../../engine/kv/kv-bytes';
import { MemoryKvStore } from '../../engine/kv/kv-store';
import { EngineHost } from '../../engine/worker/engine-host';
import type { ChatRequest, ChatTurn, ModelEntry } from '../../engine/worker/protocol';
import { hostServing, type HostedModels } from '../support/engine-host';
import { writeSmallChatModels, type SmallChatModels } from '../support/small-chat-model';

const store = new MemoryKvStore();
let models: SmallChatModels;
let hosted: HostedModels;
let first: EngineHost;
let entry: ModelEntry;
let gpu: GPU;
beforeAll(async () => {
  models = await writeSmallChatModels();
  hosted = await hostServing(models.modelsDir);
  entry = hosted.entries[0];
  gpu = await installNodeWebGpu();
  first = new EngineHost({ gpu: () => gpu, kvStore: () => store });
  await first.loadModel(entry);
});
afterAll(async () => {
  await hosted?.server.close();
  await models?.remove();
});

const GREEDY = { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, maxNewTokens: 2 };
const request = (conversationId: string, messages: ChatTurn[]): ChatRequest => ({ conversationId, messages, sampling: GREEDY, attention: 'dense' });

async function saved(host: EngineHost, conversationId: string, tokens: number): Promise<void> {
  for (let i = 0; i < 200 && host.stored!.record(conversationId)?.tokenIds.length !== tokens; i++) await new Promise((r) => setTimeout(r, 50));
  expect(host.stored!.record(conversationId)?.tokenIds.length).toBe(tokens);
}

describe('chat with stored caches', () => {
  const a: ChatTurn[] = [{ role: 'user', content: 'Name a prime number.' }];

  it('switching conversations swaps GPU caches; a reloaded host restores from the store and answers the same', async () => {
    const a1 = await first.chat(request('a', a), () => {});
    await saved(first, 'a', a1.stats.contextTokens);
    await first.chat(request('b', [{ role: 'user', content: 'Hello there.' }]), () => {});
    const a2Messages: ChatTurn[] = [...a, { role: 'assistant', content: a1.text }, { role: 'user', content: 'Another one?' }];
    const a2 = await first.chat(request('a', a2Messages), () => {});
    expect(a2.stats.reusedTokens).toBeGreaterThan(0);
    expect(a2.stats.restoredTokens, 'swapped in on the GPU, not restored').toBeUndefined();
    await saved(first, 'a', a2.stats.contextTokens);
    expect(Object.keys(await first.cacheSizes()).sort()).toEqual(['a', 'b']);
    const f16PerToken = kvBytesPerToken(first.loadedModel!.model.config).latentF16;
    const details = await first.cacheDetails();
    expect(details.a).toEqual({ bytes: a2.stats.contextTokens * f16PerToken, tokens: a2.stats.contextTokens, encodings: ['f16'] });

    const gpu = await installNodeWebGpu();
    const reloaded = new EngineHost({ gpu: () => gpu, kvStore: () => store });
    await reloaded.loadModel(entry);
    const a3Messages: ChatTurn[] = [...a2Messages, { role: 'assistant', content: a2.text }, { role: 'user', content: 'Thanks.' }];
    const prompt = reloaded.loadedModel!.tokenizer.encodeChat(a3Messages);
    const restored = await reloaded.chat(request('a', a3Messages), () => {});
    const uninterrupted = await first.chat(request('a', a3Messages), () => {});
    expect(restored.stats.restoredTokens).toBe(restored.stats.reusedTokens);
    expect(restored.stats.reusedTokens).toBe(uninterrupted.stats.reusedTokens);
    expect(restored.stats.prefillTokens).toBe(prompt.length - restored.stats.reusedTokens);
    expect(restored.text).toBe(uninterrupted.text);
    reloaded.forgetConversation('a');
    await reloaded.stored!.forget('b');
    expect(await reloaded.cacheSizes()).toEqual({});
  });

  it('configureKvCache: int8 rows next, a lowered budget evicts at once (least recently used first), bad values refused', async () => {
    const host = new EngineHost({ gpu: () => gpu, kvStore: () => new MemoryKvStore() });
    const perToken = (await host.loadModel(entry)).storedBytesPerToken!;
    expect(perToken.int8).toBeLessThan(perToken.f16);
    const x = await host.chat(request('x', [{ role: 'user', content: 'Name a colour.' }]), () => {});
    host.configureKvCache({ encoding: 'int8' });
    const y = await host.chat(request('y', [{ role: 'user', content: 'Name a fruit.' }]), () => {});
    expect(await host.cacheDetails()).toEqual({
      x: { bytes: x.stats.contextTokens * perToken.f16, tokens: x.stats.contextTokens, encodings: ['f16'] },
      y: { bytes: y.stats.contextTokens * perToken.int8, tokens: y.stats.contextTokens, encodings: ['int8'] },
    });
    for (const bad of [{ storedBudgetBytes: -1 }, { gpuBudgetBytes: Number.NaN }, { storedBudgetBytes: 2 ** 60 }, { encoding: 'q4' as 'int8' }]) {
      expect(() => host.configureKvCache(bad), JSON.stringify(bad)).toThrow(RangeError);
    }
    host.configureKvCache({ storedBudgetBytes: y.stats.contextTokens * perToken.int8, gpuBudgetBytes: 0 });
    expect(Object.keys(await host.cacheDetails())).toEqual(['y']);
    expect(host.session!.caches.get('x')!.gpuCopy, 'x is gone from the GPU too').toBeNull();
    const again = await host.chat(request('x', [{ role: 'user', content: 'Name a colour.' }]), () => {});
    expect(again.stats.reusedTokens, 'nothing of x was kept').toBe(0);
  });
});
