// linear with `norm` (y = W·RMSNorm(x), the norm inside the packed matrix-vector dispatch, the normed rows written
// out; V3's q_b_proj after q_a_layernorm) against the float64 reference: f16, q8 and q4 weights with N not a
// multiple of any layout's rows, three thread layouts, T = 1 and T = 3 (GPU-style contexts run an rmsNorm dispatch
// and the tiled matmul when T > 1); f32 weights and a K the packed kernel cannot take (the rmsNorm + linear
// fallback). The dispatch count says where the norm ran. atol = 1e-5·max|ref|, rtol = 1e-4 on the stored weights.
import { describe, expect, it } from 'vitest';
import { countDispatches, GpuContext } from '../../engine/gpu/context';
import { readF32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { linear } from '../../engine/kernels/linear';
import { PACKED_MATVEC_SHAPES, type PackedMatvecShape, type RowsKernel } from '../../engine/kernels/matvec-shape';
import { packedChunkFits } from '../../engine/kernels/weight-args';
import { uploadWeight } from '../../engine/weights/gpu-weight';
import { linear as linearRef, rmsNorm as rmsNormRef } from '../reference/ops';
import { expectClose, randomArray } from '../support/compare';
import { testDevice } from '../support/gpu';
import { asUpload, packedKernelX, storageName, storedValues, type Storage } from '../support/stored-weights';

const N = 45, CAPACITY = 3, EPS = 1e-6;
const LAYOUTS: [PackedMatvecShape, RowsKernel][] = [
  [PACKED_MATVEC_SHAPES.cpu, 'matvec'], [PACKED_MATVEC_SHAPES.gpu, 'matmul'], [{ WG: 64, LANES: 4, ROWS_PER_THREAD: 3 }, 'matvec'],
];
// K = 96 packs into 16-byte chunks for f16, q8 and q4; f32 never does, nor does K = 100 for q8 (16-element chunks).
const CASES: [Storage, number][] = [
  [{ dtype: 'f16', group: 0 }, 96], [{ dtype: 'q8', group: 32 }, 96], [{ dtype: 'q4', group: 32 }, 96],
  [{ dtype: 'f32', group: 0 }, 96], [{ dtype: 'q8', group: 16 }, 100],
];

describe('linear with an input norm', () => {
  for (const [storage, K] of CASES) {
    it(`matches rmsNorm then W·x, ${storageName(storage)} K=${K}`, async () => {
      const { device } = await testDevice();
      const seed = 90 + CASES.findIndex(([s, k]) => s === storage && k === K);
      const x = randomArray(CAPACITY * K, seed + 1, 3);
      const normWeight = randomArray(K, seed + 2, 1);
      const w = randomArray(N * K, seed + 3);
      const input = uploadArray(device, x, 'x');
      const norm = { weight: uploadArray(device, normWeight, 'norm'), eps: EPS, normed: uploadArray(device, new Float32Array(CAPACITY * K), 'normed') };
      const weight = uploadWeight(device, w, [N, K], asUpload(storage), 'w');
      const packed = packedChunkFits(weight);
      expect(packed).toBe(storage.dtype !== 'f32' && K === 96);
      const output = uploadArray(device, new Float32Array(CAPACITY * N), 'y');
      for (const [packedMatvec, rowsKernel] of LAYOUTS) {
        const ctx = new GpuContext(device, { packedMatvec, rowsKernel });
        const call = linear(ctx, { input, weight, output, norm });
        for (const rows of [1, CAPACITY]) {
          const what = `${storageName(storage)} K=${K} T=${rows} WG ${packedMatvec.WG} x ${packedMatvec.LANES} x ${packedMatvec.ROWS_PER_THREAD} ${rowsKernel}`;
          const fused = packed && (rows === 1 || rowsKernel === 'matvec');
          // Fused: one dispatch. Otherwise the rmsNorm and the projection (on GPU-style contexts the tiled matmul,
          // which may add a K-split reduction).
          if (fused) expect(countDispatches([call], rows), `dispatches ${what}`).toBe(1);
          else expect(countDispatches([call], rows), `dispatches ${what}`).toBeGreaterThanOrEqual(2);
          device.queue.writeBuffer(norm.normed, 0, new Float32Array(CAPACITY * K).fill(-7));
          device.queue.writeBuffer(output, 0, new Float32Array(CAPACITY * N).fill(-7));
          ctx.writeStep(rows, 0, false);
          runCalls(device, [call], rows);
          const normedRef = rmsNormRef(x, normWeight, rows, K, EPS);
          const normed = await readF32(device, norm.normed, CAPACITY * K);
          expectClose(normed.subarray(0, rows * K), normedRef, { atol: 1e-6, rtol: 1e-5 }, `normed ${what}`);
          // The fused kernel of a q4 weight on GPU layouts reads the normed row as int8 chunks.
          const normedRead = fused ? packedKernelX(Float32Array.from(normedRef), K, packedMatvec, storage, weight) : normedRef;
          const expected = linearRef(normedRead, storedValues(w, K, storage), rows, N, K);
          let magnitude = 0;
          for (const v of expected) magnitude = Math.max(magnitude, Math.abs(v));
          const y = await readF32(device, output, CAPACITY * N);
          expectClose(y.subarray(0, rows * N), expected, { atol: 1e-5 * magnitude, rtol: 1e-4 }, `y ${what}`);
          expect(Array.from(y.subarray(rows * N)), `rows past the step ${what}`).toEqual(Array((CAPACITY - rows) * N).fill(-7));
        }
      }
    });
  }
});
