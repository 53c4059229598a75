// The worker's engine host on SwiftShader with models served over HTTP from a real 127.0.0.1 server: the bundled
// default model (public/models) loads with progress that ends at all tensor bytes, reports what the UI shows
// (indexer, context, per-token cache bytes) and answers; loading another model stops a running answer and destroys
// the previous device (all its buffers); a lost device is reported to onDeviceLost as DEVICE_LOST, chat then says to load again, and the
// next loadModel works on a new device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEngineError } from '../../engine/errors';
import { kvBytesPerToken } from '../../engine/kv/kv-bytes';
import { CPU_MAX_CONTEXT } from '../../engine/worker/model-loader';
import type { ChatRequest, EngineErrorInfo, LoadProgress } from '../../engine/worker/protocol';
import { DEFAULT_MODEL_DIR } from '../../scripts/default-model/default-model-config';
import { PUBLIC_MODELS_DIR, bundledModel } from '../support/bundled-model';
import { hostServing, type HostedModels } from '../support/engine-host';
import { serveFolder, type FolderServer } from '../support/package-server';
import { writeSmallChatModels, type SmallChatModels } from '../support/small-chat-model';

let bundled: HostedModels;
let small: SmallChatModels;
let smallServer: FolderServer;
beforeAll(async () => {
  await bundledModel();
  bundled = await hostServing(PUBLIC_MODELS_DIR);
  small = await writeSmallChatModels();
  smallServer = await serveFolder(small.modelsDir, { range: true });
});
afterAll(async () => {
  await Promise.all([bundled?.server.close(), smallServer?.close()]);
  await small?.remove();
});

const HELLO: ChatRequest = {
  conversationId: 'hello',
  messages: [{ role: 'user', content: 'Hello!' }],
  sampling: { temperature: 0.7, topP: 0.9, topK: 40, repetitionPenalty: 1.1, maxNewTokens: 2 },
  attention: 'sparse',
};

describe('engine host', () => {
  it('loads the bundled model over HTTP with byte progress, reports its facts, and answers', async () => {
    const { host, entries } = bundled;
    expect(entries.map((e) => e.id)).toContain(DEFAULT_MODEL_DIR); // beside the trained default model
    const random = entries.find((e) => e.id === DEFAULT_MODEL_DIR)!;
    const progress: LoadProgress[] = [];
    const info = await host.loadModel(random, (p) => { progress.push(p); });
    const config = host.loadedModel!.model.config;
    expect(info).toMatchObject({
      id: DEFAULT_MODEL_DIR, label: 'random weights', family: 'deepseek_v32', hasIndexer: true,
      maxContext: Math.min(config.maxPositionEmbeddings, CPU_MAX_CONTEXT),
      latentBytesPerToken: kvBytesPerToken(config).latentF32, fullKvBytesPerToken: kvBytesPerToken(config).expandedKvF16,
    });
    expect(info.adapter.cpu).toBe(true);
    expect(info.adapter.maxStorageBufferBindingSize).toBeGreaterThan(0);
    const total = progress[0].totalBytes;
    const manifestBytes = random.bytes; // shards also hold alignment padding, so tensors are a bit less
    expect(total).toBeGreaterThan(manifestBytes * 0.99);
    expect(total).toBeLessThanOrEqual(manifestBytes);
    expect(progress.map((p) => p.phase).filter((phase, i, all) => phase !== all[i - 1])).toEqual(['manifest', 'tokenizer', 'weights', 'compile']);
    const loaded = progress.map((p) => p.loadedBytes);
    expect(loaded.every((bytes, i) => i === 0 || bytes >= loaded[i - 1])).toBe(true);
    expect(progress[progress.length - 1]).toEqual({ phase: 'compile', loadedBytes: total, totalBytes: total });
    const result = await host.chat(HELLO, () => {});
    expect(result.stats.generatedTokens).toBeGreaterThanOrEqual(1);
    expect(result.stats.prefillTokens).toBe(host.loadedModel!.tokenizer.encodeChat(HELLO.messages).length);
  });

  it('loading another model ends a running answer with abort, then destroys the previous device and its buffers', async () => {
    const { host } = bundled;
    const oldDevice = host.loadedModel!.model.ctx.device;
    const lostReason = oldDevice.lost.then((info) => info.reason);
    const [entry] = await (await import('../../engine/worker/model-index')).listModels(`${smallServer.url}index.json`);
    let loading: Promise<{ id: string }> | undefined;
    const answer = await host.chat({ ...HELLO, sampling: { ...HELLO.sampling, maxNewTokens: 200 } }, () => {
      loading ??= host.loadModel(entry);
    });
    expect(answer.finishReason).toBe('abort');
    expect(answer.stats.generatedTokens).toBeLessThan(200);
    const info = await loading!;
    expect(info.id).toBe(entry.id);
    expect(await lostReason).toBe('destroyed');
    expect(host.loadedModel!.model.ctx.device).not.toBe(oldDevice);
    expect((await host.chat({ ...HELLO, conversationId: 'after-switch' }, () => {})).stats.generatedTokens).toBeGreaterThanOrEqual(1);
  });

  it('reports a lost device as DEVICE_LOST; chat then asks for a reload, and loadModel recovers', async () => {
    const { host } = bundled;
    const reported: EngineErrorInfo[] = [];
    host.onDeviceLost((error) => { reported.push(error); });
    const device = host.loadedModel!.model.ctx.device;
    device.destroy(); // stands in for a driver reset: the engine did not ask for it
    await device.lost;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(reported).toHaveLength(1);
    expect(reported[0].code).toBe('DEVICE_LOST');
    expect(reported[0].message).toContain('Load the model again');
    const error = await host.chat(HELLO, () => {}).then(() => undefined, (e: unknown) => e);
    expect(isEngineError(error, 'DEVICE_LOST'), String(error)).toBe(true);
    const [entry] = await (await import('../../engine/worker/model-index')).listModels(`${smallServer.url}index.json`);
    await host.loadModel(entry);
    expect((await host.chat(HELLO, () => {})).stats.generatedTokens).toBeGreaterThanOrEqual(1);
    expect(reported).toHaveLength(1);
  });
});
