// Router tests on hand-made logits for each variant of deepseek-math.md §5: V2 greedy softmax, V2
// group_limited_greedy (group score = max prob), V3 sigmoid + bias with top-2-sum group scores, including the case
// where the single best expert lies in a dropped group, and the rule that the bias picks but never weighs.
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../engine/config';
import { routeExperts } from './ops';

/** A small config with just the routing fields that matter set per test (8 experts, k = 2). */
function routingConfig(overrides: Partial<ModelConfig>): ModelConfig {
  return {
    family: 'deepseek_v3', vocabSize: 16, hiddenSize: 8, intermediateSize: 16, moeIntermediateSize: 4,
    numLayers: 2, firstKDense: 1, numHeads: 1, qLoraRank: null, kvLoraRank: 4, qkNopeHeadDim: 2,
    qkRopeHeadDim: 2, vHeadDim: 2, nRoutedExperts: 8, nSharedExperts: 1, numExpertsPerTok: 2, nGroup: 1,
    topkGroup: 1, scoring: 'sigmoid', topkMethod: 'noaux_tc', normTopkProb: true, routedScalingFactor: 2.5,
    rmsNormEps: 1e-6, maxPositionEmbeddings: 64,
    rope: { theta: 10000, type: 'default', factor: 1, originalMaxPositions: 64, betaFast: 32, betaSlow: 1, mscale: 0, mscaleAllDim: 0 },
    indexer: null, bosTokenId: null, eosTokenIds: [],
    ...overrides,
  };
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

describe('routeExperts', () => {
  it('V2 greedy: top-k softmax probabilities, not renormalised, times the scaling factor', () => {
    // p ∝ [1, 2, 3, 1, 1, 1, 1, 1] (sum 11)
    const logits = [0, Math.log(2), Math.log(3), 0, 0, 0, 0, 0];
    const config = routingConfig({ family: 'deepseek_v2', scoring: 'softmax', topkMethod: 'greedy', normTopkProb: false, routedScalingFactor: 1.5 });
    const route = routeExperts(logits, null, config);
    expect(route.ids).toEqual([2, 1]);
    expect(route.weights[0]).toBeCloseTo((3 / 11) * 1.5, 14);
    expect(route.weights[1]).toBeCloseTo((2 / 11) * 1.5, 14);
  });

  it('V2 group_limited_greedy: groups scored by their max probability, the rest excluded', () => {
    // 4 groups of 2. Logits as log-probabilities (unnormalised): group maxima 5, 4.9, 4.95, 0.1.
    const raw = [5, 1, 4.9, 4.8, 4.95, 0.1, 0.1, 0.1];
    const logits = raw.map(Math.log);
    const sum = raw.reduce((a, b) => a + b, 0);
    const base = { family: 'deepseek_v2' as const, scoring: 'softmax' as const, normTopkProb: false, routedScalingFactor: 1, numExpertsPerTok: 3 };
    const limited = routeExperts(logits, null, routingConfig({ ...base, topkMethod: 'group_limited_greedy', nGroup: 4, topkGroup: 2 }));
    // Kept groups 0 and 2: experts {0, 1, 4, 5}; expert 2 (third best overall) is in dropped group 1.
    expect(limited.ids).toEqual([0, 4, 1]);
    limited.ids.forEach((e, i) => expect(limited.weights[i]).toBeCloseTo(raw[e] / sum, 14));
    const greedy = routeExperts(logits, null, routingConfig({ ...base, topkMethod: 'greedy' }));
    expect(greedy.ids).toEqual([0, 4, 2]);
  });

  it('V3: the best expert is dropped when its group’s top-2 sum loses', () => {
    // Groups of 2: g0 = σ(3)+σ(−3) = 1.0, g1 = σ(1.5)+σ(1.4) ≈ 1.62, g2 = 2σ(1) ≈ 1.46, g3 = 2σ(−2) ≈ 0.24.
    const logits = [3, -3, 1.5, 1.4, 1, 1, -2, -2];
    const config = routingConfig({ nGroup: 4, topkGroup: 2 });
    const route = routeExperts(logits, null, config);
    expect(route.ids).toEqual([2, 3]);
    const total = sigmoid(1.5) + sigmoid(1.4) + 1e-20;
    expect(route.weights[0]).toBeCloseTo((sigmoid(1.5) / total) * 2.5, 14);
    expect(route.weights[1]).toBeCloseTo((sigmoid(1.4) / total) * 2.5, 14);
    // Without groups the same logits pick expert 0 first.
    expect(routeExperts(logits, null, routingConfig({})).ids).toEqual([0, 2]);
  });

  it('V3: the correction bias chooses experts but the weights use the unbiased sigmoid', () => {
    const logits = [3, -3, 1.5, 1.4, 1, 1, -2, -2];
    const bias = [0, 0, 0, 0, 1, 0, 0, 0]; // g2 becomes σ(1)+1+σ(1) ≈ 2.46
    const route = routeExperts(logits, bias, routingConfig({ nGroup: 4, topkGroup: 2 }));
    expect(route.ids).toEqual([4, 2]);
    const total = sigmoid(1) + sigmoid(1.5) + 1e-20;
    expect(route.weights[0]).toBeCloseTo((sigmoid(1) / total) * 2.5, 14);
    expect(route.weights[1]).toBeCloseTo((sigmoid(1.5) / total) * 2.5, 14);
  });

  it('V3 without normTopkProb keeps raw sigmoid weights times the factor', () => {
    const logits = [0, 2, 0, 0, 0, 0, 1, 0];
    const route = routeExperts(logits, null, routingConfig({ normTopkProb: false, routedScalingFactor: 2 }));
    expect(route.ids).toEqual([1, 6]);
    expect(route.weights[0]).toBeCloseTo(sigmoid(2) * 2, 14);
    expect(route.weights[1]).toBeCloseTo(sigmoid(1) * 2, 14);
  });
});
