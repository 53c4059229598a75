// Routing statistics (engine/convert/routing-statistics.ts, layer-streamed float64 reference, experts read one
// at a time) against two independent counts: the whole-model ReferenceModel observed through its onRoute hook,
// and the first MoE layer's router recomputed here by hand from the reference ops (V3 sigmoid + bias + group
// top-2 sum on tiny-v3-fp8; V2 softmax group-limited greedy on shape-v2-grouped).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { ModelConfig } from '../../engine/config';
import { readCalibrationFile } from '../../engine/convert/calibration-node';
import { collectRoutingStatistics } from '../../engine/convert/routing-statistics';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { ReferenceModel } from '../reference/forward';
import { loadLayerWeights } from '../reference/forward-weights';
import { embedding, linear, softmax } from '../reference/ops';
import { fixturePath, type FixtureName } from '../support/fixtures';

/** The router written out again from deepseek-math.md §5, independently of engine/reference/ops-routing.ts. */
function routeByHand(logits: Float64Array, bias: Float32Array | null, c: ModelConfig): Map<number, number> {
  const E = logits.length;
  const sigmoid = c.scoring === 'sigmoid';
  const weightOf = sigmoid ? Array.from(logits, (v) => 1 / (1 + Math.exp(-v))) : Array.from(softmax(logits));
  const choice = weightOf.map((p, e) => p + (bias ? bias[e] : 0));
  const grouped = sigmoid || c.topkMethod === 'group_limited_greedy';
  if (grouped && c.nGroup > 1) {
    const size = E / c.nGroup;
    const groupScore = Array.from({ length: c.nGroup }, (_, g) => {
      const members = choice.slice(g * size, (g + 1) * size).sort((a, b) => b - a);
      return sigmoid ? members[0] + members[1] : members[0];
    });
    const bestGroups = groupScore.map((s, g) => [s, g]).sort((a, b) => b[0] - a[0]).slice(0, c.topkGroup).map(([, g]) => g);
    for (let e = 0; e < E; e++) if (!bestGroups.includes(Math.floor(e / size))) choice[e] = sigmoid ? -Infinity : 0;
  }
  const ids = choice.map((s, e) => [s, e]).sort((a, b) => b[0] - a[0]).slice(0, c.numExpertsPerTok).map(([, e]) => e);
  const total = c.normTopkProb ? ids.reduce((sum, e) => sum + weightOf[e], 0) : 1;
  return new Map(ids.map((e) => [e, (weightOf[e] / total) * c.routedScalingFactor]));
}

const cases: FixtureName[] = ['tiny-v3-fp8', 'shape-v2-grouped'];

describe('routing statistics', () => {
  for (const name of cases) {
    it(`${name}: equal the whole reference model's routes and a hand-computed first MoE layer`, async () => {
      const dir = fixturePath(name);
      const source = await openCheckpoint(dir);
      const c = source.config;
      const sequences = readCalibrationFile(join(dir, 'golden.safetensors'), c.vocabSize);
      const stats = await collectRoutingStatistics(source, sequences);
      const tokens = sequences.reduce((n, s) => n + s.length, 0);
      expect(stats.tokens).toBe(tokens);
      expect(stats.layers.map((l) => l.layer)).toEqual(Array.from({ length: c.numLayers - c.firstKDense }, (_, i) => c.firstKDense + i));

      // 1. The whole model through its onRoute hook.
      const model = await ReferenceModel.load(source);
      const observed = stats.layers.map(() => new Float64Array(c.nRoutedExperts));
      for (const ids of sequences) {
        model.prefill(ids, { onRoute: (layer, _row, route) => route.ids.forEach((e, i) => (observed[layer - c.firstKDense][e] += route.weights[i])) });
      }
      stats.layers.forEach((l, i) => l.weightSum.forEach((w, e) => expect(w).toBeCloseTo(observed[i][e], 9)));

      // 2. The first MoE layer's router by hand, on the hidden states the dense layers give.
      const byHand = new Float64Array(c.nRoutedExperts);
      const embed = await source.readF32('model.embed_tokens.weight');
      const layers = await Promise.all(Array.from({ length: c.firstKDense + 1 }, (_, l) => loadLayerWeights(source, l)));
      const streaming = ReferenceModel.withoutWeights(c);
      for (const ids of sequences) {
        streaming.reset();
        const hidden = embedding(embed, ids, c.hiddenSize);
        for (let l = 0; l < c.firstKDense; l++) streaming.runLayer(l, layers[l], hidden, ids.length, 0);
        const moe = layers[c.firstKDense];
        const y = streaming.runAttention(c.firstKDense, moe, hidden, ids.length, 0);
        const logits = linear(y, moe.moe!.router, ids.length, c.nRoutedExperts, c.hiddenSize);
        for (let t = 0; t < ids.length; t++) {
          const route = routeByHand(logits.subarray(t * c.nRoutedExperts, (t + 1) * c.nRoutedExperts), moe.moe!.scoreBias, c);
          route.forEach((w, e) => (byHand[e] += w));
        }
      }
      byHand.forEach((w, e) => expect(stats.layers[0].weightSum[e]).toBeCloseTo(w, 9));

      // 3. Every token picks k experts; normalised weights sum to routed_scaling_factor per token.
      for (const l of stats.layers) {
        expect(l.selections.reduce((a, b) => a + b, 0)).toBe(tokens * c.numExpertsPerTok);
        if (c.normTopkProb) expect(l.weightSum.reduce((a, b) => a + b, 0)).toBeCloseTo(tokens * c.routedScalingFactor, 9);
      }
      expect(stats.layers[0].weightSum.some((w) => w > 0)).toBe(true);
    });
  }
});
