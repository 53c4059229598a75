// Hand-checkable tests of the float64 reference ops (tests/reference/ops.ts) and of the RoPE constants in
// engine/model/rope.ts: known vectors for norms, softmax and both RoPE layouts, naive vs absorbed MLA on random
// odd-sized inputs, the indexer score formula and top-k ties, and the YaRN numbers of deepseek-math.md §3.5.
// Router tests live in ops-routing.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../engine/config';
import { buildRopeTable, mlaSoftmaxScale, ropeAttentionScaling, ropeFrequencies } from '../../engine/model/rope';
import { maxAbsDiff, randomArray } from '../support/compare';
import { fixturePath } from '../support/fixtures';
import {
  indexerScores,
  layerNorm,
  linear,
  mlaAttentionAbsorbed,
  mlaAttentionNaive,
  rmsNorm,
  ropeAdjacent,
  ropeHalf,
  softmax,
  swiglu,
  topkSelect,
} from './ops';
import type { MlaAttentionArgs } from './ops';

describe('row ops', () => {
  it('linear multiplies by the transposed [out, in] weight', () => {
    // x [2, 3], w [2, 3]
    const y = linear([1, 2, 3, 4, 5, 6], [1, 0, -1, 0.5, 0.5, 0.5], 2, 2, 3);
    expect(Array.from(y)).toEqual([-2, 3, -2, 7.5]);
  });

  it('rmsNorm divides by the root mean square and applies the weight', () => {
    // mean([3², 4²]) = 12.5
    const y = rmsNorm([3, 4], [1, 2], 1, 2, 0);
    expect(y[0]).toBeCloseTo(3 / Math.sqrt(12.5), 12);
    expect(y[1]).toBeCloseTo((2 * 4) / Math.sqrt(12.5), 12);
    const withEps = rmsNorm([0, 0, 0, 2], null, 1, 4, 1);
    expect(withEps[3]).toBeCloseTo(2 / Math.sqrt(1 + 1), 12);
  });

  it('layerNorm uses the biased variance and adds the bias', () => {
    // mean 2.5, biased variance 1.25
    const y = layerNorm([1, 2, 3, 4], [1, 1, 2, 1], [0, 1, 0, 0], 1, 4, 0);
    const s = 1 / Math.sqrt(1.25);
    expect(Array.from(y).map((v) => +v.toFixed(12))).toEqual([-1.5 * s, -0.5 * s + 1, 2 * 0.5 * s, 1.5 * s].map((v) => +v.toFixed(12)));
  });

  it('swiglu is silu(gate)·up', () => {
    const y = swiglu([0, 1, -2], [5, 2, 3]);
    expect(y[0]).toBe(0);
    expect(y[1]).toBeCloseTo((1 / (1 + Math.exp(-1))) * 2, 14);
    expect(y[2]).toBeCloseTo((-2 / (1 + Math.exp(2))) * 3, 14);
  });

  it('softmax sums to one and gives masked entries exactly zero', () => {
    const p = softmax([1000, 1001, -Infinity, 999]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    expect(p[2]).toBe(0);
    expect(p[1] / p[0]).toBeCloseTo(Math.E, 12);
  });
});

describe('rope layouts', () => {
  // Row 0 is a decoy so the test also checks that `pos` selects the row: at pos 1, φ = [π/2, π].
  const cos = [1, 1, Math.cos(Math.PI / 2), Math.cos(Math.PI)];
  const sin = [0, 0, Math.sin(Math.PI / 2), Math.sin(Math.PI)];

  it('ropeAdjacent rotates (x0,x1) by φ0 and (x2,x3) by φ1, output interleaved, offset respected', () => {
    const x = new Float64Array([9, 1, 2, 3, 4]);
    ropeAdjacent(x, 1, 4, cos, sin, 1);
    expect(Array.from(x).map((v) => +v.toFixed(12))).toEqual([9, -2, 1, -3, -4]);
  });

  it('ropeHalf rotates (x0,x2) by φ0 and (x1,x3) by φ1, output in half layout', () => {
    const x = new Float64Array([1, 2, 3, 4]);
    ropeHalf(x, 0, 4, cos, sin, 1);
    expect(Array.from(x).map((v) => +v.toFixed(12))).toEqual([-3, -2, 1, -4]);
  });
});

describe('MLA attention', () => {
  // Odd sizes everywhere so a swapped stride cannot pass by accident.
  function randomArgs(allowed?: MlaAttentionArgs['allowed']): MlaAttentionArgs {
    const [T, nH, dN, dR, dV, rKV, pos0] = [3, 3, 5, 4, 7, 9, 4];
    const L = pos0 + T;
    return {
      q: randomArray(T * nH * (dN + dR), 1),
      latentCache: randomArray(L * (rKV + dR), 2),
      kvB: randomArray(nH * (dN + dV) * rKV, 3, 0.5),
      T, nH, dN, dR, dV, rKV, pos0, scale: 0.37, allowed,
    };
  }

  it('naive and absorbed forms agree to 1e-9 (causal)', () => {
    const args = randomArgs();
    const naive = mlaAttentionNaive(args);
    expect(naive.length).toBe(3 * 3 * 7);
    expect(maxAbsDiff(mlaAttentionAbsorbed(args), naive)).toBeLessThan(1e-9);
  });

  it('naive and absorbed forms agree to 1e-9 with an extra sparse mask', () => {
    const args = randomArgs((t, u) => (t + u) % 2 === 0 || u === 0);
    expect(maxAbsDiff(mlaAttentionAbsorbed(args), mlaAttentionNaive(args))).toBeLessThan(1e-9);
  });

  it('a query that sees one key returns that key’s value W_UV·c', () => {
    const args = randomArgs();
    const only = { ...args, T: 1, pos0: 0, q: Array.from(args.q).slice(0, args.nH * (args.dN + args.dR)) };
    const out = mlaAttentionAbsorbed(only);
    const { nH, dN, dV, rKV } = args;
    for (let h = 0; h < nH; h++) {
      for (let v = 0; v < dV; v++) {
        let expected = 0;
        for (let r = 0; r < rKV; r++) expected += args.kvB[(h * (dN + dV) + dN + v) * rKV + r] * args.latentCache[r];
        expect(out[h * dV + v]).toBeCloseTo(expected, 12);
      }
    }
  });
});

describe('DSA indexer', () => {
  it('scores are Σ_j w_j·ReLU(q_j·k)/sqrt(nI·dI), future keys −∞', () => {
    // T=1 at pos0=1, nI=2, dI=2, L=3: key 2 is in the future.
    const qI = [1, 2, -1, 0]; // head 0 = (1,2), head 1 = (-1,0)
    const kI = [1, 1, -1, 3, 5, 5];
    const w = [2, 3];
    const s = indexerScores({ qI, kI, w, T: 1, nI: 2, dI: 2, L: 3, pos0: 1 });
    const scale = 1 / Math.sqrt(2 * 2);
    expect(s[0]).toBeCloseTo(scale * (2 * 3 + 3 * 0), 14); // head 1 dot = -1 → ReLU 0
    expect(s[1]).toBeCloseTo(scale * (2 * 5 + 3 * 1), 14);
    expect(s[2]).toBe(-Infinity);
  });

  it('topkSelect takes the largest of the first `count`, lower index first on ties', () => {
    expect(topkSelect([1, 5, 3, 5, 9], 4, 2)).toEqual([1, 3]);
    expect(topkSelect([0, 0, 0, 7], 4, 3)).toEqual([3, 0, 1]);
    expect(topkSelect([2, 1, 99], 2, 8)).toEqual([0, 1]); // k > count: all of the first `count`
  });
});

/** A Hub-style V3 config.json, with fields overridden per test. */
function hubV3(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: 'deepseek_v3', vocab_size: 129280, hidden_size: 7168, intermediate_size: 18432,
    moe_intermediate_size: 2048, num_hidden_layers: 61, first_k_dense_replace: 3, num_attention_heads: 128,
    q_lora_rank: 1536, kv_lora_rank: 512, qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128,
    n_routed_experts: 256, n_shared_experts: 1, num_experts_per_tok: 8, n_group: 8, topk_group: 4,
    norm_topk_prob: true, routed_scaling_factor: 2.5, rms_norm_eps: 1e-6, max_position_embeddings: 163840,
    rope_theta: 10000,
    rope_scaling: { type: 'yarn', factor: 40, original_max_position_embeddings: 4096, beta_fast: 32, beta_slow: 1, mscale: 1.0, mscale_all_dim: 1.0 },
    ...overrides,
  };
}

function expectRelClose(actual: ArrayLike<number>, expected: number[], rel: number): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i] - e) / Math.abs(e), `index ${i}`).toBeLessThan(rel));
}

describe('YaRN constants (deepseek-math.md §3.5)', () => {
  it('tiny V3 fixture: ω and τ', () => {
    const config = parseModelConfig(JSON.parse(readFileSync(join(fixturePath('tiny-v3-fp8'), 'config.json'), 'utf8')));
    expectRelClose(ropeFrequencies(config), [1, 0.23717, 0.05, 7.9057e-3, 2.5e-3, 7.9057e-4, 2.5e-4, 7.9057e-5], 1e-4);
    expect(mlaSoftmaxScale(config)).toBeCloseTo(0.18713, 5);
    expect(ropeAttentionScaling(config)).toBe(1);
  });

  it('real V3: band lo=10, hi=23 and τ = 0.13523378', () => {
    const config = parseModelConfig(hubV3());
    const omega = ropeFrequencies(config);
    expect(omega.length).toBe(32);
    expectRelClose(omega.slice(8, 12), [0.1, 0.07499, 0.05623, 3.9007e-2], 2e-4); // 10 unchanged, 11 blended
    expectRelClose([omega[20], omega[21], omega[22], omega[23], omega[31]], [7.9057e-4, 4.1499e-4, 1.7783e-4, 3.3338e-5, 3.3338e-6], 2e-4);
    expect(mlaSoftmaxScale(config)).toBeCloseTo(0.13523378, 8);
    expect(ropeAttentionScaling(config)).toBe(1);
  });

  it('V2-Lite (mscale 0.707 both): τ = 0.11472139, amplitude 1', () => {
    const scaling = { type: 'yarn', factor: 40, original_max_position_embeddings: 4096, beta_fast: 32, beta_slow: 1, mscale: 0.707, mscale_all_dim: 0.707 };
    const config = parseModelConfig(hubV3({
      model_type: 'deepseek_v2', q_lora_rank: null, topk_method: 'greedy', n_group: 1, topk_group: 1,
      n_routed_experts: 64, num_experts_per_tok: 6, rope_scaling: scaling,
    }));
    expect(mlaSoftmaxScale(config)).toBeCloseTo(0.11472139, 8);
    expect(ropeAttentionScaling(config)).toBeCloseTo(1, 14);
  });

  it('trap: a YaRN config without mscale keys gets amplitude 0.1·ln40+1 and no τ correction', () => {
    const config = parseModelConfig(hubV3({ rope_scaling: { type: 'yarn', factor: 40, original_max_position_embeddings: 4096 } }));
    expect(ropeAttentionScaling(config)).toBeCloseTo(1.3688879, 6);
    expect(mlaSoftmaxScale(config)).toBeCloseTo(Math.pow(192, -0.5), 12);
  });

  it('the table is f32(cos(f32(p)·ω)) and matches the frequencies; position 0 is the identity', () => {
    const config = parseModelConfig(hubV3());
    const omega = ropeFrequencies(config);
    const { cos, sin } = buildRopeTable(config, 3000);
    expect(cos.length).toBe(3000 * 32);
    for (let i = 0; i < 32; i++) {
      expect([cos[i], sin[i]]).toEqual([1, 0]);
      const angle = Math.fround(2999 * omega[i]);
      expect(cos[2999 * 32 + i]).toBe(Math.fround(Math.cos(angle)));
      expect(sin[2999 * 32 + i]).toBe(Math.fround(Math.sin(angle)));
    }
  });
});
