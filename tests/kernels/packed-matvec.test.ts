// The packed-chunk matrix-vector kernels (linear_packed.wgsl via linear / linearSwiGLU) against the float64
// reference, for f16, q8 and q4 rows whose K is a multiple of the 16-byte chunk (the path every DeepSeek projection
// takes in decode). Each case runs under several thread layouts (one thread per row as on CPU adapters; the GPU
// default; lanes and rows per thread that leave rows past N, partial lane strides and multi-row slots), with N not a
// multiple of any workgroup's rows, K not a multiple of LANES chunks, K over several staged x tiles of the GPU
// layouts (2,112: a partial second tile of q4; the GPU default layout only), groups larger than a chunk, T = 1,
// several token rows (matrix-vector per row, z) and lastRow (the CPU and GPU default layouts). The reference uses
// the stored weights and x as the kernel reads it (q4 on the GPU layouts: int8 chunks, xAsInt8Chunks), so only f32
// summation order separates them: atol = 1e-5·max|ref|, rtol = 1e-4.
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../engine/gpu/context';
import { readF32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { linear, linearSwiGLU } from '../../engine/kernels/linear';
import { PACKED_KERNEL_SHAPES, PACKED_MATVEC_SHAPES, type PackedMatvecShape } from '../../engine/kernels/matvec-shape';
import { packedChunkFits } from '../../engine/kernels/weight-args';
import { uploadWeight } from '../../engine/weights/gpu-weight';
import { linear as linearRef, swiglu } from '../reference/ops';
import { expectClose, randomArray, type Tolerance } from '../support/compare';
import { testDevice } from '../support/gpu';
import { asUpload, packedKernelX, storageName, storedValues, type Storage } from '../support/stored-weights';

function tolerance(expected: ArrayLike<number>): Tolerance {
  let magnitude = 0;
  for (let i = 0; i < expected.length; i++) magnitude = Math.max(magnitude, Math.abs(expected[i]));
  return { atol: 1e-5 * Math.max(magnitude, 1e-6), rtol: 1e-4 };
}

const LAYOUTS: PackedMatvecShape[] = [
  PACKED_MATVEC_SHAPES.cpu, PACKED_MATVEC_SHAPES.gpu, { WG: 64, LANES: 4, ROWS_PER_THREAD: 3 }, { WG: 256, LANES: 64, ROWS_PER_THREAD: 4 },
];
const STORAGES: Storage[] = [
  { dtype: 'f16', group: 0 }, { dtype: 'q8', group: 64 }, { dtype: 'q4', group: 64 },
];
const SHAPES = [{ n: 1, k: 128 }, { n: 37, k: 384 }, { n: 133, k: 256 }, { n: 3, k: 2112 }];
const ROWS = [1, 3];

function layoutName({ WG, LANES, ROWS_PER_THREAD }: PackedMatvecShape): string {
  return `WG ${WG} x ${LANES} lanes x ${ROWS_PER_THREAD} rows`;
}

/** The reference y [rows, n] of `kernel` for x [rows, k] and the stored weight rows. */
function reference(swiGLU: boolean, x: Float32Array, w: Float32Array, rows: number, n: number, k: number): Float64Array {
  if (!swiGLU) return linearRef(x, w, rows, n, k);
  const gateUp = linearRef(x, w, rows, 2 * n, k);
  const gate = new Float64Array(rows * n), up = new Float64Array(rows * n);
  for (let t = 0; t < rows; t++) {
    gate.set(gateUp.subarray(t * 2 * n, t * 2 * n + n), t * n);
    up.set(gateUp.subarray(t * 2 * n + n, (t + 1) * 2 * n), t * n);
  }
  return swiglu(gate, up);
}

describe('packed-chunk matrix-vector kernel', () => {
  for (const storage of STORAGES) {
    for (const swiGLU of [false, true]) {
      const kernel = swiGLU ? linearSwiGLU : linear;
      const what = `${swiGLU ? 'silu(gate)·up' : 'y = x·Wᵀ'} ${storageName(storage)}`;
      it(`${what} matches the reference on every layout, N in {${SHAPES.map((s) => s.n)}}, T in {${ROWS}} and lastRow`, async () => {
        const { device } = await testDevice();
        for (const [i, { n, k }] of SHAPES.entries()) {
          const weightRows = swiGLU ? 2 * n : n;
          const capacity = Math.max(...ROWS);
          const x = randomArray(capacity * k, 100 + i, 2);
          const w = randomArray(weightRows * k, 200 + i);
          const stored = storedValues(w, k, storage);
          const input = uploadArray(device, x, 'x');
          const weight = uploadWeight(device, w, [weightRows, k], asUpload(storage), 'w');
          expect(packedChunkFits(weight)).toBe(true);
          // K over several staged tiles only matters where x is staged (the GPU layouts): the GPU default covers it.
          // The two odd layouts (rows past N, partial lane strides, multi-row slots) take the two middle shapes
          // without lastRow, whose row choice does not depend on the layout (a pipeline per case: compile time
          // dominates this file on SwiftShader).
          const layouts = k > 2048 ? [PACKED_MATVEC_SHAPES.gpu] : i === 1 || i === 2 ? LAYOUTS : LAYOUTS.slice(0, 2);
          for (const layout of layouts) {
            // rowsKernel 'matvec': steps of several rows run the matrix-vector kernel once per row (workgroup z).
            const ctx = new GpuContext(device, { packedMatvec: layout, rowsKernel: 'matvec' });
            const odd = layout !== PACKED_MATVEC_SHAPES.cpu && layout !== PACKED_MATVEC_SHAPES.gpu;
            for (const rows of ROWS) {
              for (const lastRow of odd ? [false] : [false, true]) {
                const output = uploadArray(device, new Float32Array(capacity * n).fill(-7), 'y');
                ctx.writeStep(rows, 0, false);
                runCalls(device, [kernel(ctx, { input, weight, output, lastRow })], rows);
                const y = await readF32(device, output, capacity * n);
                const from = lastRow ? rows - 1 : 0;
                const expected = reference(swiGLU, packedKernelX(x.subarray(from * k, rows * k), k, layout, storage), stored, rows - from, n, k);
                const label = `${what} N=${n} K=${k} T=${rows}${lastRow ? ' lastRow' : ''} ${layoutName(layout)}`;
                expectClose(y.subarray(from * n, rows * n), expected, tolerance(expected), label);
                const untouched = [...y.subarray(0, from * n), ...y.subarray(rows * n)];
                expect(untouched, `${label}: rows outside the step`).toEqual(Array(untouched.length).fill(-7));
              }
            }
          }
        }
      });
    }
  }

  it('takes the packed path only where a 16-byte chunk fits the row and the scale group', async () => {
    const { device } = await testDevice();
    const fits = (k: number, storage: Storage) =>
      packedChunkFits(uploadWeight(device, randomArray(2 * k, 1), [2, k], asUpload(storage), 'w'));
    expect(fits(2048, { dtype: 'q4', group: 32 })).toBe(true);
    expect(fits(1408, { dtype: 'q4', group: 32 })).toBe(true);
    expect(fits(2048, { dtype: 'q4', group: 16 })).toBe(false); // a chunk would straddle two scales
    expect(fits(2056, { dtype: 'q4', group: 8 * 257 })).toBe(false); // K not a multiple of 32
    expect(fits(48, { dtype: 'q8', group: 16 })).toBe(true);
    expect(fits(40, { dtype: 'f16', group: 0 })).toBe(true);
    expect(fits(36, { dtype: 'f16', group: 0 })).toBe(false);
    expect(fits(64, { dtype: 'f32', group: 0 })).toBe(false);
  });

  it('gives every packed kernel the layout a caller picks, the adapter kind\'s otherwise, none when turned off', async () => {
    const { device, cpu } = await testDevice();
    const kind = cpu ? 'cpu' : 'gpu';
    const byKind = new GpuContext(device);
    for (const kernel of ['linear', 'experts_swiglu', 'experts_down'] as const) {
      expect(byKind.packedShapeFor(kernel)).toEqual(PACKED_KERNEL_SHAPES[kind][kernel] ?? PACKED_MATVEC_SHAPES[kind]);
      const picked = { WG: 64, LANES: 4, ROWS_PER_THREAD: 3 };
      expect(new GpuContext(device, { packedMatvec: picked }).packedShapeFor(kernel)).toEqual(picked);
      expect(new GpuContext(device, { packedMatvec: null }).packedShapeFor(kernel)).toBeNull();
    }
  });

  it('rejects a layout whose lanes do not divide the workgroup', async () => {
    const { device } = await testDevice();
    expect(() => new GpuContext(device, { packedMatvec: { WG: 96, LANES: 64, ROWS_PER_THREAD: 1 } })).toThrow(/LANES/);
    expect(() => new GpuContext(device, { packedMatvec: { WG: 96, LANES: 3, ROWS_PER_THREAD: 1 } })).toThrow(/power of two/);
  });
});
