// TensorStorage (engine/model/tensor-storage.ts), the loader's packing step, on the tiny-v2 checkpoint: every
// tensor gets the plan's format, a package's packed words are taken as they are only when their format and group
// are the plan's, and fused tensors stack their parts' data then scales (concatPacked); `streamed` places a
// package's pieces where `fused` puts those words, and declines tensors that need repacking.
import { describe, expect, it } from 'vitest';
import { TensorStorage } from '../../engine/model/tensor-storage';
import { isEngineError } from '../../engine/errors';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { concatPacked, packMatrix, unpackMatrix } from '../../engine/weights/quant';
import type { PackedStream, PackedTensor, TensorSource } from '../../engine/weights/tensor-source';
import { weightPlan } from '../../engine/weights/weight-plan';
import { fixturePath } from '../support/fixtures';

const GATE = 'model.layers.0.mlp.gate_proj.weight';
const UP = 'model.layers.0.mlp.up_proj.weight';

/** The checkpoint, plus readPacked answering with `packedAs` for every 2-D tensor (a package's view). */
async function withPacked(packedAs: (name: string, values: Float32Array, shape: number[]) => PackedTensor | undefined): Promise<TensorSource> {
  const source = await openCheckpoint(fixturePath('tiny-v2'));
  return Object.assign(Object.create(source) as TensorSource, {
    async readPacked(name: string) {
      const shape = source.info(name)!.shape;
      return shape.length === 2 ? packedAs(name, await source.readF32(name), shape) : undefined;
    },
  });
}

describe('TensorStorage', () => {
  it('packs each tensor in the format storageFor gives it (router f32, kv_b_proj f16, the rest q4 g32)', async () => {
    const storage = new TensorStorage(await openCheckpoint(fixturePath('tiny-v2')), weightPlan('q4'));
    expect((await storage.packed(GATE)).dtype).toBe('q4');
    expect((await storage.packed(GATE)).group).toBe(32);
    expect((await storage.packed('model.layers.0.self_attn.kv_b_proj.weight')).dtype).toBe('f16');
    expect((await storage.packed('model.embed_tokens.weight')).dtype).toBe('q8');
    expect((await storage.packed('model.layers.1.mlp.gate.weight')).dtype).toBe('f32');
    expect((await storage.packed('model.norm.weight')).dtype).toBe('f32');
  });

  it('uploads a package\'s words as they are when format and group match, and repacks when they do not', async () => {
    const marked = new Map<string, Uint32Array>();
    const source = await withPacked((name, values, [rows, k]) => {
      const words = packMatrix(values, rows, k, 'q8', 16);
      marked.set(name, words);
      return { dtype: 'q8', group: 16, shape: [rows, k], words };
    });
    const same = await new TensorStorage(source, weightPlan('q8', { group: 16 })).packed(GATE);
    expect(same.words).toBe(marked.get(GATE));
    const other = await new TensorStorage(source, weightPlan('q8', { group: 32 })).packed(GATE);
    expect(other.group).toBe(32);
    const [rows, k] = source.info(GATE)!.shape;
    expect(Array.from(other.words)).toEqual(Array.from(packMatrix(await source.readF32(GATE), rows, k, 'q8', 32)));
  });

  it('fuses gate;up as gate rows then up rows, with data before scales', async () => {
    const source = await openCheckpoint(fixturePath('tiny-v2'));
    const storage = new TensorStorage(source, weightPlan('q4'));
    const [n, k] = source.info(GATE)!.shape;
    const fused = await storage.fused([GATE, UP], [2 * n, k]);
    const gate = await storage.packed(GATE);
    const up = await storage.packed(UP);
    expect(Array.from(fused.words)).toEqual(Array.from(concatPacked([{ words: gate.words, rows: n }, { words: up.words, rows: n }], k, 'q4', 32)));
    const values = unpackMatrix(fused.words, 2 * n, k, 'q4', 32);
    expect(Array.from(values.subarray(n * k))).toEqual(Array.from(unpackMatrix(up.words, n, k, 'q4', 32)));
  });

  it('refuses to fuse parts of different formats or K, naming the part', async () => {
    const storage = new TensorStorage(await openCheckpoint(fixturePath('tiny-v2')), weightPlan('q4'));
    // kv_b_proj is f16 with K = 32 under this plan; gate and up are q4 g32 with K = 64.
    await expect(storage.fused([GATE, 'model.layers.0.self_attn.kv_b_proj.weight'], [256, 64]))
      .rejects.toSatisfy((e: unknown) => isEngineError(e, 'BAD_CHECKPOINT') && /kv_b_proj/.test((e as Error).message));
  });

  it('streams stored parts into the places fused() gives their words, and declines parts it must repack', async () => {
    const packedAs = (name: string, values: Float32Array, [rows, k]: number[]): PackedTensor =>
      ({ dtype: 'q4', group: 32, shape: [rows, k], words: packMatrix(values, rows, k, 'q4', 32) });
    const packedSource = await withPacked(packedAs);
    const source = Object.assign(Object.create(packedSource) as TensorSource, {
      streamPacked(name: string): PackedStream | undefined {
        const shape = packedSource.info(name)!.shape;
        if (shape.length !== 2) return undefined;
        return {
          dtype: 'q4', group: 32, shape, bytes: 0, // bytes unused by streamed(); the pieces say it all
          async read(sink: (bytes: Uint8Array, at: number) => void) {
            const words = (await packedSource.readPacked!(name))!.words;
            const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
            for (let at = 0; at < bytes.length; at += 36) sink(bytes.subarray(at, at + 36), at); // pieces cross the data/scale edge
          },
        };
      },
    });
    const storage = new TensorStorage(source, weightPlan('q4'));
    const [n, k] = source.info(GATE)!.shape;
    const stream = storage.streamed([GATE, UP], [2 * n, k])!;
    const expected = await storage.fused([GATE, UP], [2 * n, k]);
    expect(stream.bytes).toBe(expected.words.byteLength);
    const got = new Uint8Array(stream.bytes).fill(0xee);
    let pieces = 0;
    await stream.read((bytes, at) => { got.set(bytes, at); pieces++; });
    expect(pieces).toBeGreaterThan(2);
    expect(Array.from(new Uint32Array(got.buffer))).toEqual(Array.from(expected.words));
    // kv_b_proj is f16 under this plan, stored q4 here: it must be repacked, so it is not streamed.
    expect(storage.streamed(['model.layers.0.self_attn.kv_b_proj.weight'], source.info('model.layers.0.self_attn.kv_b_proj.weight')!.shape)).toBeUndefined();
  });
});
