// Split-key MLA attention for decode (mlaAttention with `split`, then mlaCombine) against a float64 reference of
// ô[h] = Σ_u softmax_u(τ·qAbs[h]·cache[u]) · c(u): keys spread over 3 and 8 workgroups per head, contexts where
// some shares are empty (5 keys, 8 shares) or span several key blocks (600 keys), and a sparse DSA selection whose
// entries past the row's position are ignored; with the GPU (16 lanes per key) and CPU (one thread per key) score
// layouts. The unsplit kernel runs on the same inputs as a cross-check.
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../engine/gpu/context';
import { createStorage, readF32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { MATVEC_SHAPES } from '../../engine/kernels/matvec-shape';
import { mlaAttention, mlaCombine } from '../../engine/kernels/mla';
import { expectClose, randomArray } from '../support/compare';
import { testDevice } from '../support/gpu';

const NH = 3, RKV = 130, DR = 8, WIDTH = RKV + DR, MAX_CONTEXT = 640, SCALE = 0.11, TOPK = 300;
const TOLERANCE = { atol: 1e-5, rtol: 1e-4 };

/** ô [NH, RKV] over the cached keys `keys` (already causal), float64. */
function reference(qAbs: Float32Array, cache: Float32Array, keys: number[]): Float64Array {
  const out = new Float64Array(NH * RKV);
  for (let h = 0; h < NH; h++) {
    const scores = keys.map((u) => {
      let dot = 0;
      for (let d = 0; d < WIDTH; d++) dot += qAbs[h * WIDTH + d] * cache[u * WIDTH + d];
      return SCALE * dot;
    });
    const top = Math.max(...scores);
    const weights = scores.map((s) => Math.exp(s - top));
    const total = weights.reduce((a, b) => a + b, 0);
    keys.forEach((u, i) => {
      for (let j = 0; j < RKV; j++) out[h * RKV + j] += (weights[i] / total) * cache[u * WIDTH + j];
    });
  }
  return out;
}

describe('split-key MLA attention (decode)', () => {
  for (const kind of ['gpu', 'cpu'] as const) {
    it(`matches the reference for 3 and 8 shares, 5 and 600 keys, dense and with a DSA selection (${kind} score layout)`, async () => {
      const { device } = await testDevice();
      // The GPU layout scores each key with 16 lanes, the CPU one with one thread (mla.ts SCORE_LANES).
      const ctx = new GpuContext(device, { matvec: MATVEC_SHAPES[kind] });
      const cache = randomArray(MAX_CONTEXT * WIDTH, 31, 2);
      const qAbs = randomArray(NH * WIDTH, 32, 2);
      const selectionKeys = Array.from({ length: TOPK }, (_, i) => (i * 7 + 3) % 640); // some past position 599
      const buffers = {
        qAbs: uploadArray(device, qAbs, 'q_abs'), latentCache: uploadArray(device, cache, 'latent_cache'),
        indices: uploadArray(device, Uint32Array.from(selectionKeys), 'indices'), counts: uploadArray(device, Uint32Array.from([TOPK]), 'counts'),
      };
      const selected = { indices: buffers.indices, counts: buffers.counts, topk: TOPK };
      for (const splits of [3, 8]) {
        const split = { splits, partials: createStorage(device, NH * splits * (RKV + 2) * 4, 'partials') };
        for (const [keys, sparse] of [[5, false], [600, false], [600, true]] as const) {
          const base = { qAbs: buffers.qAbs, latentCache: buffers.latentCache, nH: NH, rKV: RKV, dR: DR, scale: SCALE, maxContext: MAX_CONTEXT, selected };
          const splitOut = uploadArray(device, new Float32Array(NH * RKV).fill(-7), 'split_out');
          const wholeOut = createStorage(device, NH * RKV * 4, 'whole_out');
          ctx.writeStep(1, keys - 1, sparse);
          runCalls(device, [
            mlaAttention(ctx, { ...base, output: splitOut, split }), mlaCombine(ctx, { nH: NH, rKV: RKV, split, output: splitOut }),
            mlaAttention(ctx, { ...base, output: wholeOut }),
          ], 1);
          const visible = sparse ? selectionKeys.filter((u) => u <= keys - 1) : Array.from({ length: keys }, (_, u) => u);
          const expected = reference(qAbs, cache, visible);
          const what = `${splits} shares, ${keys} keys${sparse ? `, ${visible.length} selected` : ''}`;
          expectClose(await readF32(device, splitOut, NH * RKV), expected, TOLERANCE, `split ${what}`);
          expectClose(await readF32(device, wholeOut, NH * RKV), expected, TOLERANCE, `unsplit ${what}`);
        }
      }
    });
  }

  it('refuses partials too small for a row or a step with more rows than they hold', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const buffer = createStorage(device, MAX_CONTEXT * WIDTH * 4, 'any');
    const split = { splits: 4, partials: createStorage(device, NH * 4 * (RKV + 2) * 4, 'partials') };
    const args = { qAbs: buffer, latentCache: buffer, nH: NH, rKV: RKV, dR: DR, scale: SCALE, maxContext: MAX_CONTEXT, output: buffer };
    expect(() => mlaAttention(ctx, { ...args, split: { splits: 4, partials: createStorage(device, 64, 'tiny') } })).toThrow(/partials/);
    expect(() => mlaAttention(ctx, { ...args, split }).encode({} as GPUComputePassEncoder, 2)).toThrow(/rows=2/);
  });
});
