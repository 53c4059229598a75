// openCheckpoint on the three fixtures (validation, FP8 dequant, fused experts) and on damaged temp copies of them:
// a truncated file, a missing tensor, a wrong shape, a missing shard, a missing FP8 scale, an unsupported dtype.
import { readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { expectedTensors } from '../../engine/weights/expected-tensors';
import { FP8_E4M3_TABLE, bf16ToF32, entryBytes, parseSafetensors } from '../../engine/weights/safetensors';
import { FIXTURE_NAMES, fixturePath } from '../support/fixtures';
import { copyToTemp, readTensors, rewriteTensors, type RawTensor } from '../support/safetensors-writer';

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempCopy(name: (typeof FIXTURE_NAMES)[number]): Promise<string> {
  const dir = await copyToTemp(fixturePath(name));
  temps.push(dir);
  return dir;
}

async function openError(dir: string): Promise<{ code: string; message: string }> {
  try {
    await openCheckpoint(dir);
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error(`openCheckpoint accepted ${dir}`);
}

/** A tensor's raw bytes straight from a fixture file, bypassing the TensorSource. */
async function rawTensor(file: string, name: string) {
  const bytes = new Uint8Array(await readFile(file));
  const header = parseSafetensors(bytes, file);
  const entry = header.entries.get(name)!;
  return { entry, bytes: entryBytes(bytes, header, entry) };
}

describe('openCheckpoint on the fixtures', () => {
  it.each(FIXTURE_NAMES)('%s validates and every expected tensor reads with product(shape) finite values', async (name) => {
    const source = await openCheckpoint(fixturePath(name));
    expect(source.description).toBe(fixturePath(name));
    expect(source.names().some((n) => n.endsWith('_scale_inv'))).toBe(false);
    for (const { name: tensor, shape } of expectedTensors(source.config)) {
      expect(source.info(tensor)?.shape).toEqual(shape);
      const values = await source.readF32(tensor);
      expect(values.length).toBe(shape.reduce((a, b) => a * b, 1));
      expect(values.every(Number.isFinite)).toBe(true);
    }
  });

  it('lists exactly the stored tensors minus the scales (tiny-v3-fp8: 2 shards, index)', async () => {
    const source = await openCheckpoint(fixturePath('tiny-v3-fp8'));
    const index = JSON.parse(await readFile(join(fixturePath('tiny-v3-fp8'), 'model.safetensors.index.json'), 'utf8'));
    const stored = Object.keys(index.weight_map).filter((n) => !n.endsWith('_scale_inv'));
    expect(source.names().sort()).toEqual(stored.sort());
    expect(source.info('model.layers.0.mlp.down_proj.weight')).toEqual({
      name: 'model.layers.0.mlp.down_proj.weight',
      dtype: 'F8_E4M3',
      shape: [256, 512],
      blockScale: { name: 'model.layers.0.mlp.down_proj.weight_scale_inv', dtype: 'F32', shape: [2, 4] },
    });
  });

  it('dequantises FP8 as fp8(W[i,j]) × scale_inv[i/128, j/128] in f32 (down_proj [256, 512], 2×4 blocks)', async () => {
    const source = await openCheckpoint(fixturePath('tiny-v3-fp8'));
    const shard = join(fixturePath('tiny-v3-fp8'), 'model-00001-of-00002.safetensors');
    const weight = await rawTensor(shard, 'model.layers.0.mlp.down_proj.weight');
    const scale = await rawTensor(shard, 'model.layers.0.mlp.down_proj.weight_scale_inv');
    const scaleInv = new Float32Array(scale.bytes.slice().buffer);
    expect(new Set(scaleInv).size).toBe(8); // distinct blocks, so a wrong block index would show
    const manual = new Float32Array(256 * 512);
    for (let i = 0; i < 256; i++) {
      for (let j = 0; j < 512; j++) {
        manual[i * 512 + j] = FP8_E4M3_TABLE[weight.bytes[i * 512 + j]] * scaleInv[(i >> 7) * 4 + (j >> 7)];
      }
    }
    expect(await source.readF32('model.layers.0.mlp.down_proj.weight')).toEqual(manual);
  });

  it('widens BF16 tensors exactly (tiny-v2 embedding)', async () => {
    const source = await openCheckpoint(fixturePath('tiny-v2'));
    const raw = await rawTensor(join(fixturePath('tiny-v2'), 'model.safetensors'), 'model.embed_tokens.weight');
    const values = await source.readF32('model.embed_tokens.weight');
    expect(values).toEqual(bf16ToF32(raw.bytes));
    expect(values[0]).not.toBe(0);
  });

  it('exposes transformers-5 fused experts (gate_up_proj [E, 2I, H], down_proj [E, H, I]) under per-expert names', async () => {
    const dir = await tempCopy('tiny-v2');
    const original = await openCheckpoint(fixturePath('tiny-v2')); // reads lazily, so not from the copy rewritten below
    const prefix = 'model.layers.1.mlp.experts';
    await rewriteTensors(join(dir, 'model.safetensors'), (tensors) => {
      const part = (e: number, p: string) => tensors.get(`${prefix}.${e}.${p}.weight`)!.bytes;
      const gateUp: Uint8Array[] = [];
      const down: Uint8Array[] = [];
      for (let e = 0; e < 8; e++) {
        gateUp.push(part(e, 'gate_proj'), part(e, 'up_proj'));
        down.push(part(e, 'down_proj'));
        for (const p of ['gate_proj', 'up_proj', 'down_proj']) tensors.delete(`${prefix}.${e}.${p}.weight`);
      }
      const concat = (parts: Uint8Array[]) => new Uint8Array(parts.flatMap((b) => [...b]));
      tensors.set(`${prefix}.gate_up_proj`, { dtype: 'BF16', shape: [8, 64, 64], bytes: concat(gateUp) });
      tensors.set(`${prefix}.down_proj`, { dtype: 'BF16', shape: [8, 64, 32], bytes: concat(down) });
    });
    const fused = await openCheckpoint(dir);
    expect(fused.names()).not.toContain(`${prefix}.gate_up_proj`);
    expect(fused.names().sort()).toEqual(original.names().sort());
    for (const e of [0, 3, 7]) {
      for (const p of ['gate_proj', 'up_proj', 'down_proj']) {
        const name = `${prefix}.${e}.${p}.weight`;
        expect(fused.info(name)).toEqual(original.info(name));
        expect(await fused.readF32(name)).toEqual(await original.readF32(name));
      }
    }
  });
});

describe('openCheckpoint rejects damaged checkpoints with BAD_CHECKPOINT', () => {
  it('names the file, the expected and the found size of a truncated safetensors file', async () => {
    const dir = await tempCopy('tiny-v2');
    await truncate(join(dir, 'model.safetensors'), 200000);
    const error = await openError(dir);
    expect(error.code).toBe('BAD_CHECKPOINT');
    expect(error.message).toBe(
      'model.safetensors: expected 377712 bytes (header says tensor model.norm.weight ends at 377712), ' +
        'found 200000 bytes. The file is truncated: download it again.',
    );
  });

  it('names a missing tensor and the shape it should have had', async () => {
    const dir = await tempCopy('tiny-v2');
    await rewriteTensors(join(dir, 'model.safetensors'), (tensors) => {
      expect(tensors.delete('model.layers.1.mlp.experts.3.up_proj.weight')).toBe(true);
    });
    const error = await openError(dir);
    expect(error.code).toBe('BAD_CHECKPOINT');
    expect(error.message).toBe(
      'model.layers.1.mlp.experts.3.up_proj.weight: expected a tensor of shape [32, 64], ' +
        'found no such tensor in the checkpoint.',
    );
  });

  it('names a tensor of the wrong shape with expected and found shapes', async () => {
    const dir = await tempCopy('tiny-v32');
    await rewriteTensors(join(dir, 'model.safetensors'), (tensors) => {
      const kvB = tensors.get('model.layers.0.self_attn.kv_b_proj.weight')!;
      kvB.shape = [32, 128]; // transposed: same bytes, wrong layout
    });
    const error = await openError(dir);
    expect(error.code).toBe('BAD_CHECKPOINT');
    expect(error.message).toBe(
      'model.layers.0.self_attn.kv_b_proj.weight: expected shape [128, 32], found shape [32, 128].',
    );
  });

  it('names a shard the index lists but the folder lacks', async () => {
    const dir = await tempCopy('tiny-v3-fp8');
    await unlink(join(dir, 'model-00002-of-00002.safetensors'));
    const error = await openError(dir);
    expect(error.code).toBe('BAD_CHECKPOINT');
    expect(error.message).toContain('model-00002-of-00002.safetensors: expected the shard model.safetensors.index.json names');
    expect(error.message).toContain('found no such file');
  });

  it('names the missing block scale of an FP8 weight', async () => {
    const dir = await tempCopy('tiny-v3-fp8');
    const shard = join(dir, 'model-00002-of-00002.safetensors');
    await rewriteTensors(shard, (tensors) => tensors.delete('model.layers.2.self_attn.o_proj.weight_scale_inv'));
    const indexPath = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(await readFile(indexPath, 'utf8'));
    delete index.weight_map['model.layers.2.self_attn.o_proj.weight_scale_inv'];
    await writeFile(indexPath, JSON.stringify(index));
    const error = await openError(dir);
    expect(error.code).toBe('BAD_CHECKPOINT');
    expect(error.message).toBe(
      'model.layers.2.self_attn.o_proj.weight_scale_inv: expected an F32 block scale of shape [2, 1] for this FP8 ' +
        'weight, found no such tensor in the checkpoint.',
    );
  });

  it('names a tensor stored in an unsupported dtype', async () => {
    const dir = await tempCopy('tiny-v2');
    await rewriteTensors(join(dir, 'model.safetensors'), (tensors) => {
      (tensors.get('model.layers.0.input_layernorm.weight') as RawTensor).dtype = 'I16';
    });
    const error = await openError(dir);
    expect(error.code).toBe('BAD_CHECKPOINT');
    expect(error.message).toBe(
      'model.layers.0.input_layernorm.weight: expected a float dtype (F32, BF16, F16, F8_E4M3), found dtype I16.',
    );
  });

  it('names config.json when it is missing or unparsable', async () => {
    const dir = await tempCopy('tiny-v2');
    await writeFile(join(dir, 'config.json'), '{ not json');
    expect(await openError(dir)).toMatchObject({ code: 'BAD_CHECKPOINT', message: expect.stringContaining('config.json') });
    await unlink(join(dir, 'config.json'));
    const error = await openError(dir);
    expect(error.message).toMatch(/config\.json: expected a JSON model configuration, found no such file/);
  });

  it('ignores golden.safetensors when listing the weight files of an index-less folder', async () => {
    const dir = await tempCopy('tiny-v2');
    const source = await openCheckpoint(dir);
    expect(source.names().some((n) => n.startsWith('seq'))).toBe(false);
    expect((await readTensors(join(dir, 'golden.safetensors'))).size).toBeGreaterThan(0);
  });
});
