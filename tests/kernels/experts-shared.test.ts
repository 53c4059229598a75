// The shared experts fused into the routed experts' packed dispatches (expertsSwiGLU / expertsDown with `shared`)
// against the float64 reference: act[t] = [routed slots' silu(Wg[id]·x)·(Wu[id]·x) ..., shared silu(Sg·x)·(Su·x)]
// and out[t] = Sd·act_shared + Σ_j w[t,j]·(W[id_j]·act_j), overwriting whatever the output held. f16, q8 and q4,
// T = 1 and 3, repeated ids, three thread layouts (one thread per row; the GPU default; 4 lanes x 3 rows, whose 48
// rows divide neither I nor H nor S). TOP_K·I and S span several of the GPU layouts' staged x tiles (2,048 q4
// elements; a partial last tile). Reference on the stored weights, with x and act as the kernels read them (q4 on
// the GPU layouts: int8 chunks; out from the act the GPU wrote): atol = 1e-5·max|ref|, rtol = 1e-4.
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../engine/gpu/context';
import { createStorage, readF32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { expertsDown, expertsSwiGLU, sharedExpertsFuse } from '../../engine/kernels/experts';
import { PACKED_MATVEC_SHAPES, type PackedMatvecShape } from '../../engine/kernels/matvec-shape';
import { uploadWeight } from '../../engine/weights/gpu-weight';
import { linear as linearRef, silu } from '../reference/ops';
import { expectClose, randomArray, type Tolerance } from '../support/compare';
import { testDevice } from '../support/gpu';
import { asUpload, packedKernelX, storageName, storedValues, type Storage } from '../support/stored-weights';

const EXPERTS = 5, TOP_K = 2, H = 96, I = 1088, S = 2080;
const LAYOUTS: PackedMatvecShape[] = [PACKED_MATVEC_SHAPES.cpu, PACKED_MATVEC_SHAPES.gpu, { WG: 64, LANES: 4, ROWS_PER_THREAD: 3 }];
const STORAGES: Storage[] = [{ dtype: 'f16', group: 0 }, { dtype: 'q8', group: 16 }, { dtype: 'q4', group: 32 }];

function tolerance(expected: ArrayLike<number>): Tolerance {
  let magnitude = 0;
  for (let i = 0; i < expected.length; i++) magnitude = Math.max(magnitude, Math.abs(expected[i]));
  return { atol: 1e-5 * Math.max(magnitude, 1e-6), rtol: 1e-4 };
}

/** silu(gate·x)·(up·x) for a [2n, k] gate-then-up weight. */
function swiGLURef(x: Float32Array, w: Float32Array, n: number, k: number): Float64Array {
  const gateUp = linearRef(x, w, 1, 2 * n, k);
  return Float64Array.from({ length: n }, (_, i) => silu(gateUp[i]) * gateUp[n + i]);
}

describe('shared experts fused into the routed experts kernels', () => {
  for (const storage of STORAGES) {
    it(`act and out match the reference, ${storageName(storage)}, T in {1, 3}, every layout`, async () => {
      const { device } = await testDevice();
      const seed = 10 * STORAGES.indexOf(storage);
      const upload = (values: Float32Array, shape: number[], label: string) => uploadWeight(device, values, shape, asUpload(storage), label);
      const gateUp = randomArray(EXPERTS * 2 * I * H, seed + 1), down = randomArray(EXPERTS * H * I, seed + 2);
      const sharedGateUp = randomArray(2 * S * H, seed + 3), sharedDown = randomArray(H * S, seed + 4);
      const weights = {
        gateUp: upload(gateUp, [EXPERTS, 2 * I, H], 'gate_up'), down: upload(down, [EXPERTS, H, I], 'down'),
        sharedGateUp: upload(sharedGateUp, [2 * S, H], 'shared_gate_up'), sharedDown: upload(sharedDown, [H, S], 'shared_down'),
      };
      const stored = {
        gateUp: storedValues(gateUp, H, storage), down: storedValues(down, I, storage),
        sharedGateUp: storedValues(sharedGateUp, H, storage), sharedDown: storedValues(sharedDown, S, storage),
      };
      const rows = 3, act = TOP_K * I + S;
      const x = randomArray(rows * H, seed + 5, 2);
      const ids = Uint32Array.from([3, 3, 0, 4, 1, 2]);
      const routeWeights = Float32Array.from([0.7, 0.3, 1.2, 0.1, 0.5, 0.9]);
      const input = uploadArray(device, x, 'x'), expertIds = uploadArray(device, ids, 'ids');
      const expertWeights = uploadArray(device, routeWeights, 'rw');
      for (const layout of LAYOUTS) {
        const ctx = new GpuContext(device, { packedMatvec: layout });
        expect(sharedExpertsFuse(ctx, weights.gateUp, weights.sharedGateUp)).toBe(true);
        // accumulate: the sum is added onto the residual stream already in `output` (the forward pass's use).
        for (const [steps, accumulate] of [[1, false], [rows, false], [1, true], [rows, true]] as const) {
          const hidden = createStorage(device, rows * act * 4, 'act');
          const residual = randomArray(rows * H, seed + 6, 3);
          const output = uploadArray(device, accumulate ? residual : new Float32Array(rows * H).fill(1e6), 'out');
          ctx.writeStep(steps, 0, false);
          runCalls(device, [
            expertsSwiGLU(ctx, { input, weight: weights.gateUp, expertIds, topK: TOP_K, output: hidden, shared: weights.sharedGateUp }),
            expertsDown(ctx, { input: hidden, weight: weights.down, expertIds, expertWeights, topK: TOP_K, output, shared: weights.sharedDown, accumulate }),
          ], steps);
          const actExpected = new Float64Array(steps * act);
          const outExpected = new Float64Array(steps * H);
          // The down reference reads the act rows the GPU wrote, as its kernel reads them (q4 on GPU layouts: int8).
          const actGpu = await readF32(device, hidden, steps * act);
          for (let t = 0; t < steps; t++) {
            const xt = packedKernelX(x.subarray(t * H, (t + 1) * H), H, layout, storage, weights.gateUp);
            for (let j = 0; j < TOP_K; j++) {
              const id = ids[t * TOP_K + j];
              actExpected.set(swiGLURef(xt, stored.gateUp.subarray(id * 2 * I * H, (id + 1) * 2 * I * H), I, H), t * act + j * I);
            }
            actExpected.set(swiGLURef(xt, stored.sharedGateUp, S, H), t * act + TOP_K * I);
            const actT = packedKernelX(actGpu.subarray(t * act, (t + 1) * act), act, layout, storage, weights.down);
            const sharedOut = linearRef(actT.subarray(TOP_K * I), stored.sharedDown, 1, H, S);
            for (let h = 0; h < H; h++) outExpected[t * H + h] = sharedOut[h] + (accumulate ? residual[t * H + h] : 0);
            for (let j = 0; j < TOP_K; j++) {
              const id = ids[t * TOP_K + j];
              const y = linearRef(actT.subarray(j * I, (j + 1) * I), stored.down.subarray(id * H * I, (id + 1) * H * I), 1, H, I);
              for (let h = 0; h < H; h++) outExpected[t * H + h] += routeWeights[t * TOP_K + j] * y[h];
            }
          }
          const what = `${storageName(storage)} T=${steps}${accumulate ? ' accumulate' : ''} WG ${layout.WG} x ${layout.LANES} x ${layout.ROWS_PER_THREAD}`;
          expectClose(actGpu, actExpected, tolerance(actExpected), `act ${what}`);
          expectClose(await readF32(device, output, steps * H), outExpected, tolerance(outExpected), `out ${what}`);
        }
      }
    });
  }

  it('fuses only packed weights of one format, and says so when asked to fuse others', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const routed = uploadWeight(device, randomArray(EXPERTS * 2 * I * H, 1), [EXPERTS, 2 * I, H], { dtype: 'q4', group: 32 }, 'r');
    const q8 = uploadWeight(device, randomArray(2 * S * H, 2), [2 * S, H], { dtype: 'q8', group: 32 }, 's');
    const f32 = uploadWeight(device, randomArray(2 * S * H, 2), [2 * S, H], 'f32', 's');
    expect(sharedExpertsFuse(ctx, routed, q8)).toBe(false);
    expect(sharedExpertsFuse(ctx, routed, f32)).toBe(false);
    expect(sharedExpertsFuse(new GpuContext(device, { packedMatvec: null }), routed, routed)).toBe(false);
    const args = { input: createStorage(device, H * 4, 'x'), weight: routed, expertIds: createStorage(device, 8, 'ids'), topK: TOP_K, output: createStorage(device, 4 * (TOP_K * I + S), 'act') };
    expect(() => expertsSwiGLU(ctx, { ...args, shared: q8 })).toThrow(/cannot fuse/);
  });
});
