// The heads-sharing MLA attention (engine/kernels/mla-heads.ts, the GPU layout) against a float64 reference of
// ô[t,h] = Σ_u softmax_u(τ·qAbs[t,h]·cache[u]) · c(u) over the keys row t sees: one and two head groups (3 and 17
// heads: 16 + 1), latent widths that leave a partial dim chunk and one or two ô dims per thread, 1 to 600 keys
// (shares of 32 keys, a partial key block, more allowed shares than keys), one decode row and a chunk of 3 rows, and
// a sparse DSA selection whose entries past a row's position are ignored. The decode path's combine fused into the
// value up-projection (mla-combine-value-up.ts) runs on the same shares against W_UV_h · ô of the reference: one
// and two blocks of 32 W_UV rows (dV 20, 37), one or two share lanes a pair (rKV 280, 130), f32 and f16 kv_b_proj.
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../engine/gpu/context';
import { installNodeWebGpu } from '../../engine/gpu/node-gpu';
import { createStorage, readF32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { splitPartialsBytes } from '../../engine/kernels/mla';
import { headsPlan, mlaAttentionHeads } from '../../engine/kernels/mla-heads';
import { mlaCombineValueUp } from '../../engine/kernels/mla-combine-value-up';
import { linear } from '../../engine/reference/ops';
import { roundToDtype, uploadWeight } from '../../engine/weights/gpu-weight';
import { expectClose, randomArray } from '../support/compare';
import { testDevice } from '../support/gpu';

const DR = 8, MAX_CONTEXT = 640, SCALE = 0.11, TOPK = 300;
const TOLERANCE = { atol: 1e-5, rtol: 1e-4 };

/** ô [T, nH, rKV] for rows t seeing keys(t), float64. */
function reference(qAbs: Float32Array, cache: Float32Array, nH: number, rKV: number, T: number, keys: (t: number) => number[]): Float64Array {
  const width = rKV + DR;
  const out = new Float64Array(T * nH * rKV);
  for (let t = 0; t < T; t++) {
    const visible = keys(t);
    for (let h = 0; h < nH; h++) {
      const q = (t * nH + h) * width;
      const scores = visible.map((u) => {
        let dot = 0;
        for (let d = 0; d < width; d++) dot += qAbs[q + d] * cache[u * width + d];
        return SCALE * dot;
      });
      const top = Math.max(...scores);
      const weights = scores.map((s) => Math.exp(s - top));
      const total = weights.reduce((a, b) => a + b, 0);
      visible.forEach((u, i) => {
        for (let j = 0; j < rKV; j++) out[(t * nH + h) * rKV + j] += (weights[i] / total) * cache[u * width + j];
      });
    }
  }
  return out;
}

/** out [T, nH·dV] = W_UV_h · ô[t,h] per head, float64, with kv_b_proj [nH·(dN+dV), rKV] (W_UK_h rows first). */
function valueUpReference(kvB: Float32Array, oHat: Float64Array, nH: number, dN: number, dV: number, rKV: number, T: number): Float64Array {
  const out = new Float64Array(T * nH * dV);
  for (let h = 0; h < nH; h++) {
    const wUV = kvB.subarray((h * (dN + dV) + dN) * rKV, (h + 1) * (dN + dV) * rKV);
    const headLatent = new Float64Array(T * rKV);
    for (let t = 0; t < T; t++) headLatent.set(oHat.subarray((t * nH + h) * rKV, (t * nH + h + 1) * rKV), t * rKV);
    const o = linear(headLatent, wUV, T, dV, rKV);
    for (let t = 0; t < T; t++) out.set(o.subarray(t * dV, (t + 1) * dV), (t * nH + h) * dV);
  }
  return out;
}

/** A device with WebGPU's default limits (16 KiB of workgroup memory), beside the test device's raised ones. */
let defaultLimits: Promise<GPUDevice> | undefined;
function defaultLimitsDevice(): Promise<GPUDevice> {
  defaultLimits ??= installNodeWebGpu().then(async (gpu) => (await gpu.requestAdapter())!.requestDevice());
  return defaultLimits;
}

describe('heads-sharing MLA attention', () => {
  for (const [nH, rKV, dV, dtype] of [[3, 130, 37, 'f16'], [17, 280, 20, 'f32']] as const) {
    it(`matches the reference: ${nH} heads, rKV ${rKV}, 1 and 3 rows, 1 to 600 keys, dense and sparse; fused value up dV ${dV}, ${dtype}`, async () => {
      const dN = 5;
      const width = rKV + DR;
      const T = 3;
      const cache = randomArray(MAX_CONTEXT * width, 41 + nH, 2);
      const qAbs = randomArray(T * nH * width, 42 + nH, 2);
      const selection = [0, 1, 2].map((t) => Array.from({ length: TOPK }, (_, i) => (i * 7 + 3 * t + 1) % MAX_CONTEXT));
      for (const [splits, device] of [[3, (await testDevice()).device], [256, await defaultLimitsDevice()]] as const) {
        const ctx = new GpuContext(device);
        const selected = {
          indices: uploadArray(device, Uint32Array.from(selection.flat()), 'indices'),
          counts: uploadArray(device, Uint32Array.from([TOPK, 250, 17]), 'counts'), topk: TOPK,
        };
        const base = {
          qAbs: uploadArray(device, qAbs, 'q_abs'), latentCache: uploadArray(device, cache, 'latent_cache'), nH, rKV, dR: DR,
          scale: SCALE, maxContext: MAX_CONTEXT, selected,
        };
        const shares = { splits, partials: createStorage(device, splitPartialsBytes(T, nH, rKV, splits), 'partials') };
        const kvBValues = randomArray(nH * (dN + dV) * rKV, 43 + nH, 0.4);
        const kvB = uploadWeight(device, kvBValues, [nH * (dN + dV), rKV], dtype, 'kv_b_proj');
        const valueUpOut = createStorage(device, T * nH * dV * 4, 'value_up_out');
        const valueUp = mlaCombineValueUp(ctx, { nH, dN, dV, rKV, shares, selected, kvB, output: valueUpOut });
        for (const [rows, pos0, sparse] of [[1, 0, false], [1, 32, false], [1, 599, false], [3, 100, false], [1, 599, true], [3, 400, true]] as const) {
          const output = uploadArray(device, new Float32Array(T * nH * rKV).fill(-7), 'output');
          ctx.writeStep(rows, pos0, sparse);
          runCalls(device, mlaAttentionHeads(ctx, { ...base, shares, output }), rows);
          const keys = (t: number) => sparse
            ? selection[t].slice(0, [TOPK, 250, 17][t]).filter((u) => u <= pos0 + t)
            : Array.from({ length: pos0 + t + 1 }, (_, u) => u);
          const expected = reference(qAbs, cache, nH, rKV, rows, keys);
          const what = `${splits} shares, ${rows} rows at ${pos0}${sparse ? ', sparse' : ''}`;
          expectClose(await readF32(device, output, rows * nH * rKV), expected, TOLERANCE, what);
          runCalls(device, [valueUp], rows); // the same shares, merged again inside the value up-projection
          expectClose(await readF32(device, valueUpOut, rows * nH * dV), valueUpReference(roundToDtype(kvBValues, dtype), expected, nH, dN, dV, rKV, rows),
            TOLERANCE, `fused value up, ${what}`);
        }
      }
    });
  }

  it('plans the H100 layout within 32 KiB and a smaller one within the default 16 KiB', () => {
    expect(headsPlan(16, 576, 32768)).toMatchObject({ headsPadded: 16, dimChunk: 96, fan: 8 });
    expect(headsPlan(16, 576, 16384)).toMatchObject({ headsPadded: 16, dimChunk: 64, fan: 4 });
    expect(headsPlan(16, 576, 16384).bytes).toBeLessThanOrEqual(16384);
    expect(headsPlan(3, 138, 16384)).toMatchObject({ headsPadded: 4 });
    expect(headsPlan(6, 138, 16384)).toMatchObject({ headsPadded: 8 });
    expect(() => headsPlan(16, 576, 8192)).toThrow(/workgroup memory/);
  });

  it('refuses partials smaller than one row, steps with more rows than they hold, and an odd rKV for the fused value up', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const buffer = createStorage(device, MAX_CONTEXT * 138 * 4, 'any');
    const args = { qAbs: buffer, latentCache: buffer, nH: 3, rKV: 130, dR: DR, scale: SCALE, maxContext: MAX_CONTEXT, output: buffer };
    expect(() => mlaAttentionHeads(ctx, { ...args, shares: { splits: 4, partials: createStorage(device, 64, 'tiny') } })).toThrow(/partials/);
    const shares = { splits: 4, partials: createStorage(device, splitPartialsBytes(1, 3, 130, 4), 'partials') };
    expect(() => mlaAttentionHeads(ctx, { ...args, shares })[0].encode({} as GPUComputePassEncoder, 2)).toThrow(/rows=2/);
    const kvB = uploadWeight(device, new Float32Array(3 * 12 * 131), [36, 131], 'f32', 'kv_b_proj');
    const valueUp = { nH: 3, dN: 5, dV: 7, kvB, output: buffer, shares };
    expect(() => mlaCombineValueUp(ctx, { ...valueUp, rKV: 131 })).toThrow(/even/);
    expect(() => mlaCombineValueUp(ctx, { ...valueUp, rKV: 130 })).toThrow(/kvB/);
    expect(() => mlaCombineValueUp(ctx, { ...valueUp, rKV: 130, kvB: uploadWeight(device, new Float32Array(36 * 130), [36, 130], 'f32', 'kv_b_proj') })
      .encode({} as GPUComputePassEncoder, 2)).toThrow(/rows=2/);
  });
});
