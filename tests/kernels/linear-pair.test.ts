// linearPair (two projections of one input in one dispatch: linear_packed.wgsl's PAIR variant) against the float64
// reference: y = W·x and y2 = W2·x for f16, q8 and q4 weights, N and N2 not multiples of any layout's rows, under
// three thread layouts, T = 1 and T = 3 (matrix-vector per row on CPU-style contexts; the two tiled `linear` calls
// on GPU-style ones); with the input norm inside, and with a third f32 projection of the normed input. Also which
// weight pairs (and third projections) it accepts. atol = 1e-5·max|ref|, rtol = 1e-4 on the stored weights.
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../engine/gpu/context';
import { readF32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { linearPair, projectionsPair, projectionsTriple } from '../../engine/kernels/linear-pair';
import { PACKED_MATVEC_SHAPES, type PackedMatvecShape, type RowsKernel } from '../../engine/kernels/matvec-shape';
import { uploadWeight } from '../../engine/weights/gpu-weight';
import { linear as linearRef, rmsNorm as rmsNormRef } from '../reference/ops';
import { expectClose, randomArray, type Tolerance } from '../support/compare';
import { testDevice } from '../support/gpu';
import { asUpload, packedKernelX, storageName, storedValues, type Storage } from '../support/stored-weights';

const K = 192, N = 37, N2 = 133, CAPACITY = 3;
const LAYOUTS: [PackedMatvecShape, RowsKernel][] = [
  [PACKED_MATVEC_SHAPES.cpu, 'matvec'], [PACKED_MATVEC_SHAPES.gpu, 'matmul'], [{ WG: 64, LANES: 4, ROWS_PER_THREAD: 3 }, 'matvec'],
];
const STORAGES: Storage[] = [{ dtype: 'f16', group: 0 }, { dtype: 'q8', group: 64 }, { dtype: 'q4', group: 32 }];

function tolerance(expected: ArrayLike<number>): Tolerance {
  let magnitude = 0;
  for (let i = 0; i < expected.length; i++) magnitude = Math.max(magnitude, Math.abs(expected[i]));
  return { atol: 1e-5 * Math.max(magnitude, 1e-6), rtol: 1e-4 };
}

/** What a failure message names: the storage, the step's rows and the layout. */
function runLabel(storage: Storage, rows: number, layout: PackedMatvecShape, rowsKernel: RowsKernel): string {
  return `${storageName(storage)} T=${rows} WG ${layout.WG} x ${layout.LANES} x ${layout.ROWS_PER_THREAD} ${rowsKernel}`;
}

describe('linearPair kernel', () => {
  for (const storage of STORAGES) {
    it(`y = W·x and y2 = W2·x match the reference, ${storageName(storage)}, T in {1, 3}, every layout`, async () => {
      const { device } = await testDevice();
      const seed = 7 * STORAGES.indexOf(storage);
      const x = randomArray(CAPACITY * K, seed + 1, 2);
      const w = randomArray(N * K, seed + 2), w2 = randomArray(N2 * K, seed + 3);
      const input = uploadArray(device, x, 'x');
      const first = { weight: uploadWeight(device, w, [N, K], asUpload(storage), 'w'), output: uploadArray(device, new Float32Array(CAPACITY * N), 'y') };
      const second = { weight: uploadWeight(device, w2, [N2, K], asUpload(storage), 'w2'), output: uploadArray(device, new Float32Array(CAPACITY * N2), 'y2') };
      for (const [packedMatvec, rowsKernel] of LAYOUTS) {
        const ctx = new GpuContext(device, { packedMatvec, rowsKernel });
        const call = linearPair(ctx, input, first, second);
        for (const rows of [1, CAPACITY]) {
          device.queue.writeBuffer(first.output, 0, new Float32Array(CAPACITY * N).fill(-7));
          device.queue.writeBuffer(second.output, 0, new Float32Array(CAPACITY * N2).fill(-7));
          ctx.writeStep(rows, 0, false);
          runCalls(device, [call], rows);
          const what = runLabel(storage, rows, packedMatvec, rowsKernel);
          // One token row, or matrix-vector per row: the packed pair kernel (q4 on GPU layouts reads x as int8).
          const packedRun = rows === 1 || rowsKernel === 'matvec';
          const xRead = packedRun ? packedKernelX(x, K, packedMatvec, storage, first.weight) : x;
          for (const [values, out, n] of [[w, first.output, N], [w2, second.output, N2]] as const) {
            const expected = linearRef(xRead, storedValues(values, K, storage), rows, n, K);
            const y = await readF32(device, out, CAPACITY * n);
            expectClose(y.subarray(0, rows * n), expected, tolerance(expected), `${n} rows ${what}`);
            expect(Array.from(y.subarray(rows * n)), `rows past the step ${what}`).toEqual(Array((CAPACITY - rows) * n).fill(-7));
          }
        }
      }
    });
  }

  // `norm`: the input is the residual stream, normed inside the pair (GPU-style contexts: an rmsNorm dispatch before
  // the two tiled calls when T > 1), and the normed rows are written out. q4 and q8, every layout, T in {1, 3}.
  for (const storage of STORAGES.slice(1)) {
    it(`with the input norm inside, matches rmsNorm then W·x and W2·x, ${storageName(storage)}`, async () => {
      const { device } = await testDevice();
      const seed = 50 + STORAGES.indexOf(storage);
      const x = randomArray(CAPACITY * K, seed + 1, 3);
      const normWeight = randomArray(K, seed + 4, 1);
      const w = randomArray(N * K, seed + 2), w2 = randomArray(N2 * K, seed + 3);
      const input = uploadArray(device, x, 'x');
      const norm = { weight: uploadArray(device, normWeight, 'norm'), eps: 1e-6, normed: uploadArray(device, new Float32Array(CAPACITY * K), 'normed') };
      const first = { weight: uploadWeight(device, w, [N, K], asUpload(storage), 'w'), output: uploadArray(device, new Float32Array(CAPACITY * N), 'y') };
      const second = { weight: uploadWeight(device, w2, [N2, K], asUpload(storage), 'w2'), output: uploadArray(device, new Float32Array(CAPACITY * N2), 'y2') };
      for (const [packedMatvec, rowsKernel] of LAYOUTS) {
        const ctx = new GpuContext(device, { packedMatvec, rowsKernel });
        const call = linearPair(ctx, input, first, second, norm);
        for (const rows of [1, CAPACITY]) {
          device.queue.writeBuffer(norm.normed, 0, new Float32Array(CAPACITY * K).fill(-7));
          ctx.writeStep(rows, 0, false);
          runCalls(device, [call], rows);
          const what = runLabel(storage, rows, packedMatvec, rowsKernel);
          const normedRef = rmsNormRef(x, normWeight, rows, K, 1e-6);
          const normed = await readF32(device, norm.normed, CAPACITY * K);
          expectClose(normed.subarray(0, rows * K), normedRef, { atol: 1e-6, rtol: 1e-5 }, `normed ${what}`);
          expect(Array.from(normed.subarray(rows * K)), `normed rows past the step ${what}`).toEqual(Array((CAPACITY - rows) * K).fill(-7));
          const packedRun = rows === 1 || rowsKernel === 'matvec';
          const normedRead = packedRun ? packedKernelX(Float32Array.from(normedRef), K, packedMatvec, storage, first.weight) : normedRef;
          for (const [values, out, n] of [[w, first.output, N], [w2, second.output, N2]] as const) {
            const expected = linearRef(normedRead, storedValues(values, K, storage), rows, n, K);
            const y = await readF32(device, out, CAPACITY * n);
            expectClose(y.subarray(0, rows * n), expected, tolerance(expected), `${n} rows ${what}`);
          }
        }
      }
    });
  }

  // `third`: an f32 projection of the normed input in the same dispatch (V3.2's indexer wk and weights_proj beside
  // q_a_proj and kv_a_proj_with_mqa); N3 not a multiple of any layout's rows. Every storage, every layout, T in {1, 3}.
  for (const storage of STORAGES) {
    it(`with a third f32 projection of the normed input, matches W3·rmsNorm(x) too, ${storageName(storage)}`, async () => {
      const { device } = await testDevice();
      const seed = 90 + STORAGES.indexOf(storage);
      const N3 = 29;
      const x = randomArray(CAPACITY * K, seed + 1, 3);
      const normWeight = randomArray(K, seed + 4, 1);
      const w = randomArray(N * K, seed + 2), w2 = randomArray(N2 * K, seed + 3), w3 = randomArray(N3 * K, seed + 5);
      const input = uploadArray(device, x, 'x');
      const norm = { weight: uploadArray(device, normWeight, 'norm'), eps: 1e-6, normed: uploadArray(device, new Float32Array(CAPACITY * K), 'normed') };
      const first = { weight: uploadWeight(device, w, [N, K], asUpload(storage), 'w'), output: uploadArray(device, new Float32Array(CAPACITY * N), 'y') };
      const second = { weight: uploadWeight(device, w2, [N2, K], asUpload(storage), 'w2'), output: uploadArray(device, new Float32Array(CAPACITY * N2), 'y2') };
      const third = { weight: uploadWeight(device, w3, [N3, K], 'f32', 'w3'), output: uploadArray(device, new Float32Array(CAPACITY * N3), 'y3') };
      for (const [packedMatvec, rowsKernel] of LAYOUTS) {
        const ctx = new GpuContext(device, { packedMatvec, rowsKernel });
        expect(projectionsTriple(ctx, first.weight, second.weight, third.weight)).toBe(true);
        const call = linearPair(ctx, input, first, second, norm, third);
        for (const rows of [1, CAPACITY]) {
          device.queue.writeBuffer(third.output, 0, new Float32Array(CAPACITY * N3).fill(-7));
          ctx.writeStep(rows, 0, false);
          runCalls(device, [call], rows);
          const what = runLabel(storage, rows, packedMatvec, rowsKernel);
          const normedRef = rmsNormRef(x, normWeight, rows, K, 1e-6);
          const packedRun = rows === 1 || rowsKernel === 'matvec';
          const normedRead = packedRun ? packedKernelX(Float32Array.from(normedRef), K, packedMatvec, storage, first.weight) : normedRef;
          for (const [values, out, n, stored] of [[w, first.output, N, storage], [w2, second.output, N2, storage], [w3, third.output, N3, null]] as const) {
            const expected = stored ? linearRef(normedRead, storedValues(values, K, stored), rows, n, K) : linearRef(normedRef, values, rows, n, K);
            const y = await readF32(device, out, CAPACITY * n);
            expectClose(y.subarray(0, rows * n), expected, tolerance(expected), `${n} rows ${what}`);
            if (!stored) expect(Array.from(y.subarray(rows * n)), `rows past the step ${what}`).toEqual(Array((CAPACITY - rows) * n).fill(-7));
          }
        }
      }
    });
  }

  it('pairs only packed weights of one format and K, and says so otherwise', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const q4 = uploadWeight(device, randomArray(N * K, 1), [N, K], { dtype: 'q4', group: 32 }, 'a');
    const q4Wide = uploadWeight(device, randomArray(N * 2 * K, 1), [N, 2 * K], { dtype: 'q4', group: 32 }, 'b');
    const q8 = uploadWeight(device, randomArray(N * K, 1), [N, K], { dtype: 'q8', group: 32 }, 'c');
    const f32 = uploadWeight(device, randomArray(N * K, 1), [N, K], 'f32', 'd');
    expect(projectionsPair(ctx, q4, q4)).toBe(true);
    expect(projectionsPair(ctx, q4, q4Wide)).toBe(false);
    expect(projectionsPair(ctx, q4, q8)).toBe(false);
    expect(projectionsPair(ctx, f32, f32)).toBe(false);
    const out = uploadArray(device, new Float32Array(N), 'y');
    expect(() => linearPair(ctx, uploadArray(device, new Float32Array(K), 'x'), { weight: q4, output: out }, { weight: q8, output: out })).toThrow(/cannot share/);
    // A third projection: f32 of the same K only, and only with the input norm inside.
    expect(projectionsTriple(ctx, q4, q4, f32)).toBe(true);
    expect(projectionsTriple(ctx, q4, q4, q4)).toBe(false);
    expect(projectionsTriple(ctx, q4, q4, uploadWeight(device, randomArray(N * 2 * K, 1), [N, 2 * K], 'f32', 'e'))).toBe(false);
    expect(() => linearPair(ctx, uploadArray(device, new Float32Array(K), 'x'), { weight: q4, output: out }, { weight: q4, output: out },
      undefined, { weight: f32, output: out })).toThrow(/cannot ride/);
  });
});
