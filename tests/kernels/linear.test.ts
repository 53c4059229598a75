// linear / linearSwiGLU against the float64 reference, on odd shapes that exercise both paths (T = 1 matrix-vector,
// T > 1 tiled matmul), odd K (the unpaired last element; for f16 the row's padding half), N not a multiple of the
// 4-row group or the 64-wide tile, and f32 and f16 weights. The reference uses the f16-ROUNDED weights, so both
// dtypes differ from it only by f32 accumulation order: tolerance atol = 1e-5·max|ref|, rtol = 1e-4 for both
// (a dropped or doubled term of a K <= 257 dot product is orders of magnitude larger).
import { describe, expect, it } from 'vitest';
import { GpuContext, type KernelCall } from '../../engine/gpu/context';
import { createStorage, readF32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { linear, linearSwiGLU } from '../../engine/kernels/linear';
import { roundToDtype, uploadWeight, type WeightDtype } from '../../engine/weights/gpu-weight';
import { linear as linearRef, swiglu } from '../reference/ops';
import { expectClose, randomArray, type Tolerance } from '../support/compare';
import { testDevice } from '../support/gpu';

const DTYPES: WeightDtype[] = ['f32', 'f16'];

function tolerance(expected: ArrayLike<number>): Tolerance {
  let magnitude = 0;
  for (let i = 0; i < expected.length; i++) magnitude = Math.max(magnitude, Math.abs(expected[i]));
  return { atol: 1e-5 * Math.max(magnitude, 1e-6), rtol: 1e-4 };
}

interface Case { rows: number; n: number; k: number }

async function runLinear(kernel: typeof linear, { rows, n, k }: Case, weightRows: number, dtype: WeightDtype, seed: number) {
  const { device } = await testDevice();
  const ctx = new GpuContext(device);
  const x = randomArray(rows * k, seed, 2);
  const w = randomArray(weightRows * k, seed + 1);
  const output = createStorage(device, rows * n * 4, 'y');
  const call: KernelCall = kernel(ctx, {
    input: uploadArray(device, x, 'x'), weight: uploadWeight(device, w, [weightRows, k], dtype, 'w'), output,
  });
  ctx.writeStep(rows, 0, false);
  runCalls(device, [call], rows);
  return { x, w: roundToDtype(w, dtype), actual: await readF32(device, output, rows * n) };
}

const LINEAR_CASES: Case[] = [
  { rows: 1, n: 1, k: 1 }, { rows: 1, n: 3, k: 7 }, { rows: 1, n: 65, k: 257 }, { rows: 1, n: 300, k: 130 },
  { rows: 2, n: 3, k: 2 }, { rows: 2, n: 1, k: 1 }, { rows: 5, n: 65, k: 7 }, { rows: 5, n: 300, k: 64 },
  { rows: 33, n: 65, k: 64 }, { rows: 33, n: 300, k: 257 }, { rows: 33, n: 3, k: 130 },
];

describe('linear kernel', () => {
  for (const dtype of DTYPES) {
    for (const c of LINEAR_CASES) {
      it(`y = x·Wᵀ matches the reference for T=${c.rows}, N=${c.n}, K=${c.k}, ${dtype} weights`, async () => {
        const { x, w, actual } = await runLinear(linear, c, c.n, dtype, c.rows * 1000 + c.n * 10 + c.k);
        const expected = linearRef(x, w, c.rows, c.n, c.k);
        expectClose(actual, expected, tolerance(expected), `linear ${dtype}`);
      });
    }
  }

  it('f16 weights are read as f16 (the unrounded f32 reference differs measurably)', async () => {
    const c = { rows: 1, n: 65, k: 257 };
    const { x, actual } = await runLinear(linear, c, c.n, 'f16', 7);
    const unrounded = linearRef(x, randomArray(c.n * c.k, 8), c.rows, c.n, c.k);
    let worst = 0;
    for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - unrounded[i]));
    expect(worst).toBeGreaterThan(1e-4);
  });

  it('writes only the step rows, leaving the rest of a larger output buffer untouched', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const k = 9, n = 5, capacity = 4;
    const sentinel = new Float32Array(capacity * n).fill(-7);
    const output = uploadArray(device, sentinel, 'y');
    const call = linear(ctx, {
      input: uploadArray(device, randomArray(capacity * k, 3), 'x'),
      weight: uploadWeight(device, randomArray(n * k, 4), [n, k], 'f32', 'w'), output,
    });
    for (const rows of [1, 2]) {
      ctx.writeStep(rows, 0, false);
      runCalls(device, [call], rows);
      const y = await readF32(device, output, capacity * n);
      expect(Array.from(y.subarray(rows * n))).toEqual(Array(capacity * n - rows * n).fill(-7));
      expect(y[0]).not.toBe(-7);
    }
  });

  it('validates its arguments before building a shader', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const input = createStorage(device, 4 * 8, 'x');
    const output = createStorage(device, 4 * 3, 'y');
    const weight = uploadWeight(device, randomArray(3 * 8, 1), [3, 8], 'f16', 'w');
    expect(() => linear(ctx, { input, output, weight: { ...weight, shape: [3, 8, 1] } })).toThrow(/weight shape/);
    expect(() => linear(ctx, { input, output, weight: { ...weight, rowStride: 3 } })).toThrow(/rowStride/);
    expect(() => linear(ctx, { input: createStorage(device, 4, 'tiny'), output, weight })).toThrow(/input/);
    expect(() => linearSwiGLU(ctx, { input, output, weight })).toThrow(/even/);
    const call = linear(ctx, { input, output, weight });
    expect(() => call.encode({} as GPUComputePassEncoder, 2)).toThrow(/rows=2/);
  });
});

const SWIGLU_CASES: Case[] = [
  { rows: 1, n: 1, k: 2 }, { rows: 1, n: 65, k: 257 }, { rows: 1, n: 300, k: 7 },
  { rows: 2, n: 3, k: 1 }, { rows: 5, n: 65, k: 130 }, { rows: 33, n: 300, k: 64 }, { rows: 33, n: 3, k: 257 },
];

describe('linearSwiGLU kernel', () => {
  for (const dtype of DTYPES) {
    for (const c of SWIGLU_CASES) {
      it(`silu(gate)·up matches the reference for T=${c.rows}, N=${c.n}, K=${c.k}, ${dtype} weights`, async () => {
        const { x, w, actual } = await runLinear(linearSwiGLU, c, 2 * c.n, dtype, c.rows * 1000 + c.n * 10 + c.k + 5);
        const gateUp = linearRef(x, w, c.rows, 2 * c.n, c.k);
        const gate = new Float64Array(c.rows * c.n), up = new Float64Array(c.rows * c.n);
        for (let t = 0; t < c.rows; t++) {
          gate.set(gateUp.subarray(t * 2 * c.n, t * 2 * c.n + c.n), t * c.n);
          up.set(gateUp.subarray(t * 2 * c.n + c.n, (t + 1) * 2 * c.n), t * c.n);
        }
        const expected = swiglu(gate, up);
        expectClose(actual, expected, tolerance(expected), `linear_swiglu ${dtype}`);
      });
    }
  }
});
