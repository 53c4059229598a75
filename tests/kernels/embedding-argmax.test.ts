// The embedding gather (f32, f16, q8 and q4 tables, the q8/q4 reference unpacked from the uploaded words; odd widths,
// repeated and out-of-range ids) and the greedy argmax over the last row of a step (vocabularies of 1, 1000, 12347
// and V3's 129280 in both adapter kinds' layouts, ties, NaNs, all-negative rows) against the float64 reference ops.
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../engine/gpu/context';
import { createStorage, readF32, readU32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { embedding } from '../../engine/kernels/embedding';
import { argmax } from '../../engine/kernels/argmax';
import type { MatvecKind } from '../../engine/kernels/matvec-shape';
import { uploadWeight } from '../../engine/weights/gpu-weight';
import { argmax as argmaxRef, embedding as embeddingRef } from '../reference/ops';
import { expectClose, randomArray } from '../support/compare';
import { testDevice } from '../support/gpu';
import { asUpload, PLAIN, QUANTISED, storageName, storedValues } from '../support/stored-weights';

const EXACT = { atol: 0, rtol: 0 };

describe('embedding kernel', () => {
  const vocab = 50;
  for (const storage of [...PLAIN, ...QUANTISED]) {
    const dtype = storageName(storage);
    // 37 and 64: one workgroup of 64 elements a row; 200: three and a ragged fourth.
    for (const dim of [37, 64, 200]) {
      for (const ids of [[17], [0, 49, 3, 3, 28]]) {
        it(`gathers rows exactly: ${dtype} table [${vocab}, ${dim}], T = ${ids.length}`, async () => {
          const { device } = await testDevice();
          const ctx = new GpuContext(device);
          const values = randomArray(vocab * dim, dim * 7 + ids.length, 2);
          const table = uploadWeight(device, values, [vocab, dim], asUpload(storage), 'embed_tokens');
          const output = createStorage(device, ids.length * dim * 4, 'hidden');
          const call = embedding(ctx, { ids: uploadArray(device, new Uint32Array(ids), 'ids'), table, output });
          ctx.writeStep(ids.length, 0, false);
          runCalls(device, [call], ids.length);
          const want = embeddingRef(storedValues(values, dim, storage), ids, dim);
          expectClose(await readF32(device, output, ids.length * dim), want, EXACT, 'embedding');
        });
      }
    }
  }

  it('writes a zero row for an out-of-range id and leaves rows past the step alone', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const dim = 5;
    const values = randomArray(4 * dim, 3);
    const output = uploadArray(device, new Float32Array(3 * dim).fill(9), 'hidden');
    const ids = uploadArray(device, new Uint32Array([2, 4, 1]), 'ids');
    const call = embedding(ctx, { ids, table: uploadWeight(device, values, [4, dim], 'f32', 'embed_tokens'), output });
    ctx.writeStep(2, 0, false);
    runCalls(device, [call], 2);
    const want = [...values.subarray(2 * dim, 3 * dim), ...new Array(dim).fill(0), ...new Array(dim).fill(9)];
    expectClose(await readF32(device, output, 3 * dim), want, EXACT, 'embedding');
  });

  it('rejects a table that is not [V, H]', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const table = uploadWeight(device, new Float32Array(8), [2, 2, 2], 'f32', 'bad');
    const buffer = createStorage(device, 64, 'b');
    expect(() => embedding(ctx, { ids: buffer, table, output: buffer })).toThrow(/table/);
  });
});

async function argmaxOnGpu(logits: Float32Array, rows: number, vocab: number, kind?: MatvecKind): Promise<number> {
  const { device } = await testDevice();
  const ctx = new GpuContext(device, { kind });
  const output = uploadArray(device, new Uint32Array([0xdead]), 'token');
  const call = argmax(ctx, { logits: uploadArray(device, logits, 'logits'), vocab, output });
  ctx.writeStep(rows, 0, false);
  runCalls(device, [call], rows);
  return (await readU32(device, output, 1))[0];
}

// Both adapter kinds' layouts (the GPU layout's 1024 threads are capped to SwiftShader's 256); V a multiple of 4
// reads vec4s, the others single logits.
describe('argmax kernel', () => {
  for (const kind of ['gpu', 'cpu'] as const) {
    for (const vocab of [1, 1000, 12347, 129280]) {
      for (const rows of [1, 3]) {
        it(`finds the largest logit of the last row: V = ${vocab}, T = ${rows} (${kind} layout)`, async () => {
          const logits = randomArray(rows * vocab, vocab + rows, 10);
          // A larger value in an earlier row must not win: only the last row is the next token's distribution.
          if (rows > 1) logits[vocab >> 1] = 100;
          const last = logits.subarray((rows - 1) * vocab);
          const want = argmaxRef(last);
          expect(await argmaxOnGpu(logits, rows, vocab, kind)).toBe(want);
        });
      }
    }

    it(`breaks ties toward the lowest index, within one vec4, one thread's units and across threads (${kind} layout)`, async () => {
      const vocab = 129280;
      const logits = randomArray(vocab, 5, 1);
      // 301 and 302 share a vec4; 1325 is 256 vec4s after 301 (the same thread of 256); 70001 another thread's.
      for (const i of [129279, 70001, 1325, 302, 301]) logits[i] = 4;
      expect(await argmaxOnGpu(logits, 1, vocab, kind)).toBe(301);
      for (const [cleared, next] of [[301, 302], [302, 1325], [1325, 70001], [70001, 129279]]) {
        logits[cleared] = 0;
        expect(await argmaxOnGpu(logits, 1, vocab, kind)).toBe(next);
      }
    });

    it(`never picks a NaN over a number, and the lowest NaN of an all-NaN row (${kind} layout)`, async () => {
      for (const vocab of [1000, 1001]) {
        const logits = new Float32Array(vocab).map((_, i) => -1000 - i);
        for (const i of [0, 3, 500, vocab - 1]) logits[i] = Number.NaN;
        expect(await argmaxOnGpu(logits, 1, vocab, kind), `V = ${vocab}`).toBe(1);
        logits.fill(Number.NaN);
        expect(await argmaxOnGpu(logits, 1, vocab, kind), `V = ${vocab}, all NaN`).toBe(0);
      }
    });
  }

  it('handles an all-negative row and a maximum at the final index', async () => {
    const vocab = 1000;
    const logits = new Float32Array(vocab).map((_, i) => -1000 - i);
    expect(await argmaxOnGpu(logits, 1, vocab)).toBe(0);
    logits[vocab - 1] = -1;
    expect(await argmaxOnGpu(logits, 1, vocab)).toBe(vocab - 1);
  });
});
