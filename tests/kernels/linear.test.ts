// linear / linearSwiGLU against the float64 reference, on odd shapes that exercise both paths (T = 1 matrix-vector,
// T > 1 tiled matmul; and the CPU adapters' shapes: one invocation per output row, matrix-vector per token row), odd K (the unpaired last element; for f16 the row's padding half), N not a multiple of the
// 4-row group or the 64-wide tile, and f32, f16, q8 and q4 weights (groups 16/32/64, K not a multiple of the
// group). The reference uses the STORED weights (f16-rounded; q8/q4 unpacked from the very words uploaded), so
// every format differs from it only by f32 accumulation order: tolerance atol = 1e-5·max|ref|, rtol = 1e-4
// (a dropped or doubled term of a K <= 257 dot product is orders of magnitude larger).
import { describe, expect, it } from 'vitest';
import { GpuContext, type KernelCall } from '../../engine/gpu/context';
import { createStorage, readF32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { foldGrid, linear, linearSwiGLU, matmulSplit } from '../../engine/kernels/linear';
import { roundToDtype, uploadWeight } from '../../engine/weights/gpu-weight';
import { linear as linearRef, silu, swiglu } from '../reference/ops';
import { expectClose, randomArray, type Tolerance } from '../support/compare';
import { testDevice } from '../support/gpu';
import { asUpload, PLAIN, QUANTISED, storageName, storedValues, type Storage } from '../support/stored-weights';
import { MATVEC_SHAPES, ROWS_KERNELS } from '../../engine/kernels/matvec-shape';

const STORAGES: Storage[] = [...PLAIN, ...QUANTISED];

function tolerance(expected: ArrayLike<number>): Tolerance {
  let magnitude = 0;
  for (let i = 0; i < expected.length; i++) magnitude = Math.max(magnitude, Math.abs(expected[i]));
  return { atol: 1e-5 * Math.max(magnitude, 1e-6), rtol: 1e-4 };
}

interface Shape { n: number; k: number }

/** Step row counts run through one built kernel (T = 1: matrix-vector; the rest: tiled matmul). */
const ROWS = [1, 2, 5, 33];
const CAPACITY = Math.max(...ROWS);

/**
 * Builds `kernel` once over buffers of CAPACITY rows, then runs it for every step size in ROWS (the same call
 * re-encoded each step, as the forward pass does); returns the inputs and each step's output rows.
 */
async function runSteps(kernel: typeof linear, { n, k }: Shape, weightRows: number, storage: Storage, seed: number) {
  const { device } = await testDevice();
  const x = randomArray(CAPACITY * k, seed, 2);
  const w = randomArray(weightRows * k, seed + 1);
  const input = uploadArray(device, x, 'x');
  const weight = uploadWeight(device, w, [weightRows, k], asUpload(storage), 'w');
  const output = createStorage(device, CAPACITY * n * 4, 'y');
  const run = async (ctx: GpuContext, rows: number) => {
    const call: KernelCall = kernel(ctx, { input, weight, output });
    ctx.writeStep(rows, 0, false);
    runCalls(device, [call], rows);
    return readF32(device, output, rows * n);
  };
  const outputs: Float32Array[] = [];
  const gpuShaped = new GpuContext(device, { matvec: MATVEC_SHAPES.gpu, rowsKernel: ROWS_KERNELS.gpu });
  for (const rows of ROWS) outputs.push(await run(gpuShaped, rows));
  // The CPU adapters' shapes: matrix-vector with one invocation per output row, run once per token row for T > 1.
  const cpuOutputs: Float32Array[] = [];
  const cpuShaped = new GpuContext(device, { matvec: MATVEC_SHAPES.cpu, rowsKernel: ROWS_KERNELS.cpu });
  for (const rows of ROWS) cpuOutputs.push(await run(cpuShaped, rows));
  return { x, w: storedValues(w, k, storage), outputs, cpuMatvec: cpuOutputs[0], cpuOutputs };
}

const LINEAR_SHAPES: Shape[] = [
  { n: 1, k: 1 }, { n: 3, k: 2 }, { n: 65, k: 7 }, { n: 300, k: 64 }, { n: 3, k: 130 }, { n: 65, k: 257 },
];

/** The quantised formats take the shapes that place K below, at and across their groups (a pipeline per case). */
const QUANTISED_SHAPES: Shape[] = [{ n: 65, k: 7 }, { n: 300, k: 64 }, { n: 65, k: 257 }];

describe('linear kernel', () => {
  for (const storage of STORAGES) {
    const dtype = storageName(storage);
    for (const shape of storage.dtype === 'f32' || storage.dtype === 'f16' ? LINEAR_SHAPES : QUANTISED_SHAPES) {
      const { n, k } = shape;
      it(`y = x·Wᵀ matches the reference for N=${n}, K=${k}, ${dtype} weights, T in {${ROWS}}`, async () => {
        const { x, w, outputs, cpuMatvec, cpuOutputs } = await runSteps(linear, shape, n, storage, n * 10 + k);
        ROWS.forEach((rows, i) => {
          const expected = linearRef(x, w, rows, n, k);
          expectClose(outputs[i], expected, tolerance(expected), `linear ${dtype} T=${rows}`);
          expectClose(cpuOutputs[i], expected, tolerance(expected), `linear ${dtype} T=${rows}, CPU shapes`);
        });
        expectClose(cpuMatvec, outputs[0], tolerance(linearRef(x, w, 1, n, k)), `linear ${dtype} T=1, CPU matvec layout`);
      });
    }
  }

  // accumulate: y += W·x onto what the output holds (the residual add of o_proj and the FFN down projections), on
  // the element-pair (f32, odd K) and packed (q8/q4) matrix-vector kernels and the tiled matmul, both layouts.
  for (const [storage, shape] of [[STORAGES[0], { n: 65, k: 257 }], [QUANTISED[0], { n: 300, k: 64 }], [QUANTISED[QUANTISED.length - 1], { n: 65, k: 128 }]] as const) {
    it(`accumulate adds W·x onto the output, N=${shape.n}, K=${shape.k}, ${storageName(storage)}, T in {${ROWS}}`, async () => {
      const { device } = await testDevice();
      const { n, k } = shape;
      const x = randomArray(CAPACITY * k, n + 3, 2), w = randomArray(n * k, n + 4), residual = randomArray(CAPACITY * n, n + 5, 3);
      const input = uploadArray(device, x, 'x');
      const weight = uploadWeight(device, w, [n, k], asUpload(storage), 'w');
      const output = createStorage(device, CAPACITY * n * 4, 'y');
      for (const kind of ['gpu', 'cpu'] as const) {
        const ctx = new GpuContext(device, { matvec: MATVEC_SHAPES[kind], rowsKernel: ROWS_KERNELS[kind] });
        const call = linear(ctx, { input, weight, output, accumulate: true });
        for (const rows of ROWS) {
          device.queue.writeBuffer(output, 0, residual);
          ctx.writeStep(rows, 0, false);
          runCalls(device, [call], rows);
          const product = linearRef(x, storedValues(w, k, storage), rows, n, k);
          const expected = product.map((v, i) => v + residual[i]);
          const y = await readF32(device, output, CAPACITY * n);
          expectClose(y.subarray(0, rows * n), expected, tolerance(expected), `accumulate ${storageName(storage)} T=${rows} ${kind} layout`);
          expect(Array.from(y.subarray(rows * n)), `rows past the step, ${kind}`).toEqual(Array.from(residual.subarray(rows * n)));
        }
      }
    });
  }

  it('folds workgroup counts over 65535 onto a 2D grid that covers every group exactly once', () => {
    expect(foldGrid('t', 1)).toEqual([1, 1]);
    expect(foldGrid('t', 65535)).toEqual([65535, 1]);
    expect(foldGrid('t', 65536)).toEqual([65535, 2]);
    expect(foldGrid('t', 262150 / 4 + 1)).toEqual([65535, 2]);
    expect(() => foldGrid('t', 65535 * 65535 + 1)).toThrow(/65535/);
  });

  // DeepSeek's lm_head (129280 rows) needs the folded grid. The GPU layout's 4 rows a workgroup, with 2 lanes a row
  // in place of 64 (the fold is the same; 256-thread workgroups made this one test ~45-90 s on SwiftShader).
  it('folds a matrix-vector grid of more than 65535 workgroups (N = 262150 rows)', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device, { matvec: { WG: 8, THREADS_PER_ROW: 2, ROWS_PER_WG: 4 } });
    const n = 262150, k = 3;
    const x = randomArray(k, 11);
    const w = randomArray(n * k, 12);
    const output = createStorage(device, n * 4, 'y');
    const call = linear(ctx, { input: uploadArray(device, x, 'x'), weight: uploadWeight(device, w, [n, k], 'f16', 'w'), output });
    ctx.writeStep(1, 0, false);
    runCalls(device, [call], 1);
    const expected = linearRef(x, roundToDtype(w, 'f16'), 1, n, k);
    expectClose(await readF32(device, output, n), expected, tolerance(expected), 'linear folded grid');
  });

  for (const storage of [PLAIN[1], ...QUANTISED.slice(0, 2)]) {
    it(`${storageName(storage)} weights are read as stored (the unrounded f32 reference differs measurably)`, async () => {
      const shape = { n: 65, k: 257 };
      const { x, outputs } = await runSteps(linear, shape, shape.n, storage, 7);
      const unrounded = linearRef(x, randomArray(shape.n * shape.k, 8), 1, shape.n, shape.k);
      let worst = 0;
      for (let i = 0; i < unrounded.length; i++) worst = Math.max(worst, Math.abs(outputs[0][i] - unrounded[i]));
      expect(worst).toBeGreaterThan(1e-4);
    });
  }

  for (const storage of [PLAIN[0], QUANTISED[0]]) {
    for (const kind of ['gpu', 'cpu'] as const) {
      it(`lastRow computes only output row rows - 1 (${storageName(storage)}, ${kind} matvec layout), T in {1, 3, 5}`, async () => {
        const { device } = await testDevice();
        const ctx = new GpuContext(device, { matvec: MATVEC_SHAPES[kind] });
        const n = 65, k = 257, capacity = 5;
        const x = randomArray(capacity * k, 21, 2);
        const w = randomArray(n * k, 22);
        const input = uploadArray(device, x, 'x');
        const weight = uploadWeight(device, w, [n, k], asUpload(storage), 'w');
        for (const rows of [1, 3, 5]) {
          const output = uploadArray(device, new Float32Array(capacity * n).fill(-7), 'y');
          ctx.writeStep(rows, 0, false);
          runCalls(device, [linear(ctx, { input, weight, output, lastRow: true })], rows);
          const y = await readF32(device, output, capacity * n);
          const expected = linearRef(x.subarray((rows - 1) * k, rows * k), storedValues(w, k, storage), 1, n, k);
          expectClose(y.subarray((rows - 1) * n, rows * n), expected, tolerance(expected), `linear lastRow T=${rows}`);
          const others = [...y.subarray(0, (rows - 1) * n), ...y.subarray(rows * n)];
          expect(others).toEqual(Array(others.length).fill(-7));
        }
      });
    }
  }

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
    const q4 = uploadWeight(device, randomArray(3 * 8, 1), [3, 8], { dtype: 'q4', group: 8 }, 'q4');
    expect(() => linear(ctx, { input, output, weight: { ...q4, scaleOffset: 2 } })).toThrow(/scaleOffset/);
    expect(() => linear(ctx, { input, output, weight: { ...q4, scaleRowStride: 0 } })).toThrow(/scaleRowStride/);
    expect(() => linear(ctx, { input: createStorage(device, 4, 'tiny'), output, weight })).toThrow(/input/);
    expect(() => linearSwiGLU(ctx, { input, output, weight })).toThrow(/even/);
    const call = linear(ctx, { input, output, weight });
    expect(() => call.encode({} as GPUComputePassEncoder, 2)).toThrow(/rows=2/);
  });
});

const SWIGLU_SHAPES: Shape[] = [{ n: 1, k: 2 }, { n: 65, k: 257 }, { n: 300, k: 7 }];

describe('linearSwiGLU kernel', () => {
  for (const storage of [...PLAIN, ...QUANTISED.slice(0, 3)]) {
    const dtype = storageName(storage);
    for (const shape of SWIGLU_SHAPES) {
      const { n, k } = shape;
      it(`silu(gate)·up matches the reference for N=${n}, K=${k}, ${dtype} weights, T in {${ROWS}}`, async () => {
        const { x, w, outputs, cpuMatvec, cpuOutputs } = await runSteps(linearSwiGLU, shape, 2 * n, storage, n * 10 + k + 5);
        expectClose(cpuMatvec, outputs[0], { atol: 1e-5, rtol: 1e-4 }, `linear_swiglu ${dtype} T=1, CPU matvec layout`);
        ROWS.forEach((rows, i) => {
          const gateUp = linearRef(x, w, rows, 2 * n, k);
          const gate = new Float64Array(rows * n), up = new Float64Array(rows * n);
          for (let t = 0; t < rows; t++) {
            gate.set(gateUp.subarray(t * 2 * n, t * 2 * n + n), t * n);
            up.set(gateUp.subarray(t * 2 * n + n, (t + 1) * 2 * n), t * n);
          }
          const expected = swiglu(gate, up);
          expectClose(outputs[i], expected, tolerance(expected), `linear_swiglu ${dtype} T=${rows}`);
          expectClose(cpuOutputs[i], expected, tolerance(expected), `linear_swiglu ${dtype} T=${rows}, CPU shapes`);
        });
      });
    }
  }
});

// The tiled matmul over steps longer than one 64-row token tile (T = 65 and 130: a full tile plus a 1-row or 2-row
// tail), N not a multiple of the 128- or 64-output tile, K not a multiple of the 16-wide slice or the q4 word, K in
// one range (K < 128) or split into 2 or 3 ranges and reduced (linear.ts matmulSplit); 4 and 8 token rows a thread.
describe('tiled matmul over several token tiles', () => {
  it('splits K only where the output tiles alone are too few workgroups, in ranges of whole 16-wide slices', () => {
    expect(matmulSplit(2048, 24, 64)).toEqual({ splits: 8, kSplit: 256 }); // q_proj of a 64-row chunk: 24 tiles
    expect(matmulSplit(2048, 800, 64)).toEqual({ splits: 1, kSplit: 2048 }); // a vocabulary-wide head: enough tiles
    expect(matmulSplit(257, 1, 33)).toEqual({ splits: 4, kSplit: 80 }); // the last range holds the 17 left over
    expect(matmulSplit(100, 1, 65)).toEqual({ splits: 1, kSplit: 112 }); // under two 64-element ranges: one
  });

  const rowsList = [65, 130];
  for (const [storage, n, k, swiglu] of [
    [PLAIN[0], 130, 37, false], [PLAIN[1], 70, 200, true], [QUANTISED[1], 129, 150, false], [QUANTISED[0], 65, 48, true],
  ] as const) {
    for (const matmulThreadRows of [4, 8] as const) {
      it(`${swiglu ? 'linearSwiGLU' : 'linear'} N=${n}, K=${k}, ${storageName(storage)}, T in {${rowsList}}, ${matmulThreadRows} rows a thread`, async () => {
        const { device } = await testDevice();
        const ctx = new GpuContext(device, { matvec: MATVEC_SHAPES.gpu, rowsKernel: ROWS_KERNELS.gpu, matmulThreadRows });
        const capacity = Math.max(...rowsList);
        const x = randomArray(capacity * k, n + k, 2), w = randomArray((swiglu ? 2 : 1) * n * k, n + k + 1);
        const input = uploadArray(device, x, 'x');
        const weight = uploadWeight(device, w, [(swiglu ? 2 : 1) * n, k], asUpload(storage), 'w');
        const output = createStorage(device, capacity * n * 4, 'y');
        const call = (swiglu ? linearSwiGLU : linear)(ctx, { input, weight, output });
        const stored = storedValues(w, k, storage);
        for (const rows of rowsList) {
          ctx.writeStep(rows, 0, false);
          runCalls(device, [call], rows);
          let expected: Float64Array;
          if (swiglu) {
            const gate = linearRef(x, stored.subarray(0, n * k), rows, n, k), up = linearRef(x, stored.subarray(n * k), rows, n, k);
            expected = gate.map((g, i) => silu(g) * up[i]);
          } else {
            expected = linearRef(x, stored, rows, n, k);
          }
          expectClose(await readF32(device, output, rows * n), expected, tolerance(expected), `matmul T=${rows}`);
        }
      });
    }
  }
});
