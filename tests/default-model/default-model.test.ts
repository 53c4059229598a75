// The bundled default model: its random-weight checkpoint is the same byte for byte on every run, the generator
// converts it into a package that opens with every shard verified, lists it in index.json and skips the work when
// the package is current, and the package runs on WebGPU: a chat prompt encoded by the package's own DeepSeek-V3
// tokenizer lies inside the model's vocabulary and gives finite, non-constant logits.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeepseekForward } from '../../engine/model/forward';
import { openPackage } from '../../engine/package/package-node';
import { ChatTokenizer } from '../../engine/tokenizer/chat-tokenizer';
import { DEFAULT_MODEL_DIR, GENERATOR_VERSION } from '../../scripts/default-model/default-model-config';
import { generateDefaultModel, writeDefaultCheckpoint, type BundledModel } from '../../scripts/default-model/generate-default-model';
import { testDevice } from '../support/gpu';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'default-model-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

describe('bundled default model', () => {
  it('writes the same random-weight checkpoint twice, V3.2-shaped with the tokenizer\'s vocabulary', async () => {
    const [first, second] = [join(root, 'a'), join(root, 'b')];
    for (const dir of [first, second]) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir);
      await writeDefaultCheckpoint(dir);
    }
    expect(await sha256(join(first, 'model.safetensors'))).toBe(await sha256(join(second, 'model.safetensors')));
    const config = JSON.parse(await readFile(join(first, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'deepseek_v32', vocab_size: 128815, first_k_dense_replace: 1, n_shared_experts: 1 });
  });

  it('converts into a verified package listed in index.json, and leaves a current package alone', async () => {
    const models = join(root, 'models');
    const made = await generateDefaultModel(models);
    expect(made.generated).toBe(true);
    const { manifest } = await openPackage(made.packageDir, { verify: true });
    expect(manifest.name).toMatch(/random weights/);
    expect(manifest.quantisation.description).toBe('q4 g32 (embedding q8, lm_head q8)');
    expect(manifest.tokenizer).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    expect(manifest.config).toMatchObject({ family: 'deepseek_v32', numLayers: 3, firstKDense: 1, nRoutedExperts: 8, nSharedExperts: 1 });
    expect(manifest.config.indexer).not.toBeNull();
    expect(manifest.config.qLoraRank).toBeGreaterThan(0);
    const index = JSON.parse(await readFile(join(models, 'index.json'), 'utf8')) as BundledModel[];
    expect(index).toEqual([expect.objectContaining({ name: manifest.name, path: DEFAULT_MODEL_DIR, label: 'random weights', generatorVersion: GENERATOR_VERSION })]);
    const shardsBefore = manifest.shards.map((s) => s.sha256);
    const again = await generateDefaultModel(models);
    expect(again.generated).toBe(false);
    expect((await openPackage(made.packageDir)).manifest.shards.map((s) => s.sha256)).toEqual(shardsBefore);
  });

  it('runs a chat prompt from its own tokenizer on WebGPU to finite logits over the whole vocabulary', async () => {
    const packageDir = join(root, 'models', DEFAULT_MODEL_DIR);
    const { manifest, source } = await openPackage(packageDir);
    const readJson = async (file: string) => JSON.parse(await readFile(join(packageDir, file), 'utf8')) as Record<string, unknown>;
    const tokenizer = new ChatTokenizer({ tokenizerJson: await readJson('tokenizer.json'), tokenizerConfig: await readJson('tokenizer_config.json') });
    expect(tokenizer.vocabSize).toBe(manifest.config.vocabSize);
    const ids = tokenizer.encodeChat([
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Say hello in 中文 😀' },
    ]);
    expect(ids.every((id) => id >= 0 && id < manifest.config.vocabSize)).toBe(true);
    const { device } = await testDevice();
    const model = await DeepseekForward.create(device, source, { weights: manifest.quantisation.plan, maxContext: 64, maxRows: 32 });
    const logits = await model.prefill(ids, { attention: 'sparse' });
    expect(logits.length).toBe(ids.length * manifest.config.vocabSize);
    expect(logits.every(Number.isFinite)).toBe(true);
    const last = logits.subarray((ids.length - 1) * manifest.config.vocabSize);
    const spread = Math.max(...last.slice(0, 4096)) - Math.min(...last.slice(0, 4096));
    expect(spread).toBeGreaterThan(1e-3); // random weights, but not a dead network
    console.log(`default model: ${ids.length} prompt tokens, last-row logit range ${spread.toFixed(3)} over the first 4096 ids`);
  });
});
