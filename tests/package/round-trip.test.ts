// The package format end to end on a generated checkpoint (tiny-v2's config, F32 and BF16 tensors, an MTP-layer
// tensor the engine does not load, a tokenizer and a model card): convertCheckpoint to f32/f16/q8/q4 packages (and f16 with the
// routed experts q8, WeightPlan.routedExperts) with a 64 KiB shard limit (so there are many
// shards and the embedding spans several) and 15-row blocks (so data and scale words are written piecewise), then openPackage: readPacked equals packMatrix of the source values
// with storageFor's dtype and group, readF32 equals unpackMatrix, shards stay under the limit, offsets are 256-byte
// aligned, SHA-256s match the files, and a corrupted shard is an INTEGRITY error naming it.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../../engine/convert/convert-checkpoint';
import { findLicence } from '../../engine/convert/source-files';
import { matrixShape } from '../../engine/package/manifest';
import { openPackage } from '../../engine/package/package-node';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { packMatrix, unpackMatrix } from '../../engine/weights/quant';
import { expectedTensors } from '../../engine/weights/expected-tensors';
import type { TensorSource } from '../../engine/weights/tensor-source';
import { DEFAULT_PLANS, describePlan, storageFor, tensorClass, weightPlan, type WeightPlan } from '../../engine/weights/weight-plan';
import { fixturePath } from '../support/fixtures';
import { writeGeneratedCheckpoint } from '../support/generated-checkpoint';
import { writeSafetensors } from '../support/safetensors-writer';

const SHARD_LIMIT = 64 * 1024;
const MTP_TENSOR = 'model.layers.2.enorm.weight'; // tiny-v2 has 2 layers: layer 2 is a multi-token-prediction layer
const BLOCK_ELEMENTS = 1000; // 15 rows of K = 64 per block: blocks end mid-tensor and mid-shard
let root: string;
let checkpointDir: string;
let checkpoint: TensorSource;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'package-round-trip-'));
  checkpointDir = join(root, 'checkpoint');
  await mkdir(checkpointDir);
  const config = JSON.parse(await readFile(join(fixturePath('tiny-v2'), 'config.json'), 'utf8'));
  await writeGeneratedCheckpoint(checkpointDir, config, (name) => (/experts\.[0-3]\.|embed/.test(name) ? 'BF16' : 'F32'));
  const mtp = new Float32Array(64).fill(1);
  await writeFile(join(checkpointDir, 'mtp.safetensors'), writeSafetensors(new Map([[MTP_TENSOR, { dtype: 'F32', shape: [64], bytes: new Uint8Array(mtp.buffer) }]])));
  await writeFile(join(checkpointDir, 'tokenizer.json'), '{"model":{"type":"BPE"}}');
  await writeFile(join(checkpointDir, 'tokenizer_config.json'), '{"chat_template":"{{ messages }}"}');
  await writeFile(join(checkpointDir, 'README.md'), '---\nlicense: mit\nlibrary_name: transformers\n---\n# A model\n');
  checkpoint = await openCheckpoint(checkpointDir);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const PLANS: [string, WeightPlan][] = [
  ...(['f32', 'f16', 'q8', 'q4'] as const).map((d): [string, WeightPlan] => [d, DEFAULT_PLANS[d]]),
  ['f16-routed-q8', weightPlan('f16', { group: 16, routedExperts: 'q8' })],
];

describe.each(PLANS)('a %s package of a generated checkpoint', (dtype, plan) => {
  const out = () => join(root, `package-${dtype}`);

  beforeAll(async () => {
    await convertCheckpoint(checkpoint, out(), {
      plan, name: `generated-${dtype}`, licence: await findLicence(checkpointDir), tokenizerDir: checkpointDir, shardLimit: SHARD_LIMIT,
      blockElements: BLOCK_ELEMENTS,
    });
  });

  it('stores exactly the expected tensors, each as packMatrix of the source values with storageFor\'s dtype and group; readF32 = unpackMatrix', async () => {
    const { manifest, source } = await openPackage(out(), { verify: true });
    expect(manifest.tensors.map((t) => t.name)).toEqual(expectedTensors(checkpoint.config).map((t) => t.name));
    expect(checkpoint.names()).toContain(MTP_TENSOR); // in the checkpoint, not in the package
    for (const tensor of manifest.tensors) {
      const storage = storageFor(tensor.name, tensor.shape, plan);
      expect({ dtype: tensor.dtype, group: tensor.group }).toEqual(storage);
      const { rows, k } = matrixShape(tensor.shape);
      const expected = packMatrix(await checkpoint.readF32(tensor.name), rows, k, storage.dtype, storage.group);
      const packed = (await source.readPacked!(tensor.name))!;
      expect(packed.shape).toEqual(tensor.shape);
      expect(packed.words).toEqual(expected);
      expect(await source.readF32(tensor.name)).toEqual(unpackMatrix(expected, rows, k, storage.dtype, storage.group));
    }
  });

  it('keeps shards within the limit, offsets 256-byte aligned, SHA-256s equal to the files\'', async () => {
    const { manifest } = await openPackage(out());
    expect(manifest.shards.length).toBeGreaterThanOrEqual(3); // 64 KiB shards force several even for q4
    for (const shard of manifest.shards) {
      const bytes = await readFile(join(out(), shard.file));
      expect(bytes.length).toBe(shard.nbytes);
      expect(shard.nbytes).toBeLessThanOrEqual(SHARD_LIMIT);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(shard.sha256);
    }
    for (const tensor of manifest.tensors) expect(tensor.offset % 256).toBe(0);
    expect((await readdir(out())).sort()).toEqual(
      ['manifest.json', 'tokenizer.json', 'tokenizer_config.json', ...manifest.shards.map((s) => s.file)].sort());
    expect(manifest.tokenizer).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    expect(manifest.licence).toBe('mit');
    expect(manifest.experts).toBeNull();
    expect(manifest.config).toEqual(checkpoint.config);
    expect(manifest.quantisation).toEqual({ plan, description: describePlan(plan) });
  });
});

describe('a package with the routed experts q8 and the other matrices f16', () => {
  it('stores mlp.experts.* as q8 g16 and the shared experts, attention, embedding and lm_head as f16', async () => {
    const { manifest } = await openPackage(join(root, 'package-f16-routed-q8'));
    expect(manifest.quantisation.description).toBe('f16 (routed experts q8 g16)');
    const byClass = new Map<string, Set<string>>();
    for (const t of manifest.tensors) {
      const key = tensorClass(t.name, t.shape);
      byClass.set(key, (byClass.get(key) ?? new Set()).add(`${t.dtype} ${t.group}`));
    }
    expect([...byClass.get('experts')!]).toEqual(['q8 16']);
    for (const cls of ['matrix', 'embedding', 'lmHead', 'kvUp']) expect([...byClass.get(cls)!]).toEqual(['f16 0']);
    expect(manifest.tensors.some((t) => t.name.includes('.shared_experts.') && t.dtype === 'f16')).toBe(true);
  });
});

describe('package layout details', () => {
  it('an f32 embedding of 128 KiB starts a fresh shard at offset 0 and spans the next ones', async () => {
    const { manifest, source } = await openPackage(join(root, 'package-f32'));
    const embedding = manifest.tensors.find((t) => t.name === 'model.embed_tokens.weight')!;
    expect(embedding.nbytes).toBe(512 * 64 * 4);
    expect(embedding.offset).toBe(0);
    expect(manifest.shards[embedding.shard].nbytes).toBe(SHARD_LIMIT);
    expect(await source.readF32(embedding.name)).toEqual(await checkpoint.readF32(embedding.name));
  });

  it('any TensorSource converts: the f32 package (no row reads) re-packed to q8 gives the same shards as the checkpoint', async () => {
    const { source } = await openPackage(join(root, 'package-f32'));
    expect(source.readRowsF32).toBeUndefined();
    const again = await convertCheckpoint(source, join(root, 'package-q8-again'), {
      plan: DEFAULT_PLANS.q8, name: 'again', shardLimit: SHARD_LIMIT, blockElements: BLOCK_ELEMENTS,
    });
    const { manifest } = await openPackage(join(root, 'package-q8'));
    expect(again.shards).toEqual(manifest.shards);
    expect(again.tensors).toEqual(manifest.tensors);
  });

  it('a flipped byte in one shard is an INTEGRITY error naming that shard; without verify it still opens', async () => {
    const dir = join(root, 'package-q4');
    const { manifest } = await openPackage(dir);
    const victim = manifest.shards[2].file;
    const bytes = await readFile(join(dir, victim));
    bytes[100] ^= 0x40;
    await writeFile(join(dir, victim), bytes);
    await expect(openPackage(dir, { verify: true })).rejects.toMatchObject({ code: 'INTEGRITY', message: expect.stringContaining(victim) });
    await expect(openPackage(dir)).resolves.toBeDefined();
    await writeFile(join(dir, victim), bytes.subarray(0, bytes.length - 4));
    await expect(openPackage(dir)).rejects.toMatchObject({ code: 'INTEGRITY', message: expect.stringContaining(victim) });
  });

  it('readRowsF32 of an FP8 checkpoint equals the matching rows of readF32 (block scales per row range)', async () => {
    const fp8 = await openCheckpoint(fixturePath('tiny-v3-fp8'));
    const name = 'model.layers.0.mlp.down_proj.weight'; // [256, 512], 2x4 scale blocks
    const whole = await fp8.readF32(name);
    for (const [first, rows] of [[0, 256], [100, 60], [127, 2], [200, 56]]) {
      expect(await fp8.readRowsF32!(name, first, rows)).toEqual(whole.subarray(first * 512, (first + rows) * 512));
    }
    await expect(fp8.readRowsF32!(name, 250, 7)).rejects.toMatchObject({ code: 'BAD_CHECKPOINT' });
  });
});
