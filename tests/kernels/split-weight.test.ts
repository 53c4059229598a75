// Weights split across GPU buffers by rows (engine/weights/split-weight.ts), forced with a small artificial buffer
// limit: the parts hold whole rows (and so whole quantisation groups) within the limit; linear, linearSwiGLU (split
// by gate + up row pairs) and the embedding gather give the float64 reference's results and exactly the results of
// the same weight in one buffer (each output's dot product runs in the same order either way), for f32, f16, q8
// and q4 on odd shapes, matrix-vector and tiled matmul, and lastRow (the lm_head path). A row over the limit, or a
// stacked tensor that the kernels cannot split, fails with ADAPTER_LIMITS.
import { describe, expect, it } from 'vitest';
import { isEngineError } from '../../engine/errors';
import { readF32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { GpuContext } from '../../engine/gpu/context';
import { embedding } from '../../engine/kernels/embedding';
import { linear, linearSwiGLU } from '../../engine/kernels/linear';
import { MATVEC_SHAPES, ROWS_KERNELS } from '../../engine/kernels/matvec-shape';
import { uploadPacked } from '../../engine/weights/gpu-weight';
import { packMatrix, packedLayout, unpackMatrix } from '../../engine/weights/quant';
import { isSplitWeight, takeRows, uploadRowSplit, weightBufferLimit, weightParts, type RowsWeight } from '../../engine/weights/split-weight';
import type { PackedTensor } from '../../engine/weights/tensor-source';
import { embedding as embeddingRef, linear as linearRef, swiglu } from '../reference/ops';
import { expectClose, randomArray } from '../support/compare';
import { testDevice } from '../support/gpu';
import { storageName, type Storage } from '../support/stored-weights';

const STORAGES: Storage[] = [{ dtype: 'f32', group: 0 }, { dtype: 'f16', group: 0 }, { dtype: 'q8', group: 16 }, { dtype: 'q4', group: 32 }];
const TOLERANCE = { atol: 1e-4, rtol: 1e-4 };

function pack(values: Float32Array, rows: number, k: number, { dtype, group }: Storage): PackedTensor {
  const words = dtype === 'f32' ? new Uint32Array(values.buffer.slice(0)) : packMatrix(values, rows, k, dtype, group);
  return { dtype, shape: [rows, k], group: dtype === 'f32' ? 0 : group, words };
}

/** The values the packed words stand for (what the reference computes on). */
function stored(packed: PackedTensor): Float32Array {
  const [rows, k] = packed.shape;
  return packed.dtype === 'f32' ? new Float32Array(packed.words.buffer.slice(0)) : unpackMatrix(packed.words, rows, k, packed.dtype, packed.group);
}

/** A limit that forces about `parts` parts: a third of the tensor, rounded down to 16 bytes, as the device would. */
async function limitFor(packed: PackedTensor, parts: number): Promise<number> {
  const { device } = await testDevice();
  return weightBufferLimit(device, Math.ceil((packed.words.length * 4) / parts));
}

function expectWholeRowParts(weight: RowsWeight, rows: number, limit: number, swiglu = false): void {
  expect(isSplitWeight(weight)).toBe(true);
  const parts = weightParts(weight);
  expect(parts.length).toBeGreaterThan(2);
  let next = 0;
  for (const part of parts) {
    expect(part.firstRow).toBe(next);
    expect(part.weight.buffer.size).toBeLessThanOrEqual(limit);
    next += swiglu ? part.weight.shape[0] / 2 : part.weight.shape[0];
  }
  expect(next).toBe(swiglu ? rows / 2 : rows);
}

type Layout = keyof typeof MATVEC_SHAPES;

async function runLinear(kernel: typeof linear, weight: RowsWeight, x: Float32Array, outputs: number, rows: number,
  layout: Layout, lastRow = false): Promise<Float32Array> {
  const { device } = await testDevice();
  const ctx = new GpuContext(device, { matvec: MATVEC_SHAPES[layout], rowsKernel: ROWS_KERNELS[layout] });
  const output = uploadArray(device, new Float32Array(rows * outputs).fill(-7), 'y');
  ctx.writeStep(rows, 0, false);
  runCalls(device, [kernel(ctx, { input: uploadArray(device, x, 'x'), weight, output, lastRow })], rows);
  return readF32(device, output, rows * outputs);
}

describe('weights split across buffers by rows', () => {
  it('takeRows keeps each row with its own group scales, in the order asked', () => {
    for (const storage of STORAGES) {
      const [rows, k] = [13, 70];
      const packed = pack(randomArray(rows * k, 3), rows, k, storage);
      const picked = takeRows(packed, [[9, 13], [0, 2]]);
      expect(picked.words.length).toBe(packedLayout(storage.dtype, 6, k, picked.group).words);
      const all = stored(packed);
      expect(Array.from(stored(picked))).toEqual([...all.subarray(9 * k, 13 * k), ...all.subarray(0, 2 * k)]);
    }
  });

  for (const storage of STORAGES) {
    const name = storageName(storage);
    const [n, k] = [203, 77];

    // f32: the element-pair path the f16 case's odd K takes too; the split itself is the same for every format.
    if (storage.dtype !== 'f32') it(`linear over parts equals one buffer and the reference: ${name} [${n}, ${k}], T in {1, 5}, lastRow`, async () => {
      const { device } = await testDevice();
      const packed = pack(randomArray(n * k, 41), n, k, storage);
      const limit = await limitFor(packed, 3);
      const split = uploadRowSplit(device, packed, 'w', limit);
      expectWholeRowParts(split, n, limit);
      const whole = uploadPacked(device, packed, 'w');
      // GPU shapes: matrix-vector (T = 1) and tiled matmul (T = 5); CPU shapes: the lm_head's lastRow path.
      for (const [rows, layout, lastRow] of [[1, 'gpu', false], [5, 'gpu', false], [5, 'cpu', true]] as const) {
        const x = randomArray(rows * k, 42 + rows, 2);
        const got = await runLinear(linear, split, x, n, rows, layout, lastRow);
        expect(Array.from(got)).toEqual(Array.from(await runLinear(linear, whole, x, n, rows, layout, lastRow)));
        const from = lastRow ? rows - 1 : 0;
        const expected = linearRef(x.subarray(from * k), stored(packed), rows - from, n, k);
        expectClose(got.subarray(from * n), expected, TOLERANCE, `linear ${name} T=${rows}${lastRow ? ' lastRow' : ''}`);
        if (lastRow) expect(Array.from(got.subarray(0, from * n))).toEqual(Array(from * n).fill(-7));
      }
    });

    if (storage.dtype === 'f16' || storage.dtype === 'q4') it(`linearSwiGLU over gate + up row-pair parts equals one buffer and the reference: ${name}`, async () => {
      const { device } = await testDevice();
      const inter = 67;
      const packed = pack(randomArray(2 * inter * k, 51), 2 * inter, k, storage);
      const limit = await limitFor(packed, 3);
      const split = uploadRowSplit(device, packed, 'gate_up', limit, true);
      expectWholeRowParts(split, 2 * inter, limit, true);
      const rows = 3;
      const x = randomArray(rows * k, 52, 2);
      const splitOut = await runLinear(linearSwiGLU, split, x, inter, rows, 'gpu');
      const wholeOut = await runLinear(linearSwiGLU, uploadPacked(device, packed, 'gate_up'), x, inter, rows, 'gpu');
      expect(Array.from(splitOut)).toEqual(Array.from(wholeOut));
      const w = stored(packed);
      const gate = linearRef(x, w.subarray(0, inter * k), rows, inter, k);
      const up = linearRef(x, w.subarray(inter * k), rows, inter, k);
      expectClose(splitOut, swiglu(gate, up), TOLERANCE, `swiglu ${name}`);
    });

    it(`embedding over parts gathers rows exactly, ids at part edges and out of range: ${name}`, async () => {
      const { device } = await testDevice();
      const [vocab, dim] = [101, 37];
      const packed = pack(randomArray(vocab * dim, 61, 2), vocab, dim, storage);
      const limit = await limitFor(packed, 3);
      const table = uploadRowSplit(device, packed, 'embed_tokens', limit);
      expectWholeRowParts(table, vocab, limit);
      const edges = weightParts(table).flatMap((part) => [part.firstRow, Math.max(0, part.firstRow - 1)]);
      const ids = [...edges, vocab - 1, vocab, 0xffffffff, 5];
      const output = uploadArray(device, new Float32Array(ids.length * dim).fill(-7), 'hidden');
      const ctx = new GpuContext(device);
      ctx.writeStep(ids.length, 0, false);
      runCalls(device, [embedding(ctx, { ids: uploadArray(device, new Uint32Array(ids), 'ids'), table, output })], ids.length);
      const got = await readF32(device, output, ids.length * dim);
      const values = stored(packed);
      const want = new Float32Array(ids.length * dim);
      ids.forEach((id, t) => { if (id < vocab) want.set(embeddingRef(values, [id], dim), t * dim); });
      expect(Array.from(got)).toEqual(Array.from(want));
    });
  }

  it('fails with ADAPTER_LIMITS when one row does not fit, or a stacked tensor is over the limit', async () => {
    const { device } = await testDevice();
    const packed = pack(randomArray(4 * 64, 71), 4, 64, { dtype: 'f32', group: 0 });
    const oneRow = () => uploadRowSplit(device, packed, 'lm_head.weight', 128);
    expect(oneRow).toThrow(/lm_head\.weight needs 256 bytes for one row .* at most 128 bytes/);
    try { oneRow(); } catch (error) { expect(isEngineError(error, 'ADAPTER_LIMITS')).toBe(true); }
    const stacked = { ...packed, shape: [2, 2, 64] };
    expect(() => uploadRowSplit(device, stacked, 'experts.gate_up', 512)).toThrow(/cannot be split/);
    // Within the limit nothing is split: one buffer, as before.
    expect(isSplitWeight(uploadRowSplit(device, packed, 'w', 1024))).toBe(false);
  });

  it('asks the device for its real buffer limits and never goes above them', async () => {
    const { device } = await testDevice();
    const real = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    expect(weightBufferLimit(device)).toBe(Math.floor(real / 16) * 16);
    expect(weightBufferLimit(device, 1000)).toBe(992);
    expect(weightBufferLimit(device, 2 ** 40)).toBe(Math.floor(real / 16) * 16);
  });
});
