// The MoE router for one token in float64, exactly as deepseek-math.md §5 (transformers 5.17):
// V2 (softmax scoring): p = softmax(logits); 'greedy' takes the top-k of p; 'group_limited_greedy' scores each
// of nGroup contiguous groups by its max p, keeps the topkGroup best and zeroes p elsewhere (HF's 0.0 fill)
// before the top-k. V3/V3.2 (sigmoid scoring, "noaux_tc"): σ = sigmoid(logits), selection scores b = σ + bias,
// group score = sum of the two largest b in the group, other groups' b = −∞, top-k of b; the weights always
// come from the unbiased σ (V2: p). Then, if normTopkProb, w /= Σw + 1e-20, and w *= routedScalingFactor.
// Input logits [E] = router weight [E, H] · x; output ids in selection order (best first) with their weights.

import type { ModelConfig } from '../config';
import { softmax } from './ops-core';
import { topkSelect } from './ops-indexer';

export interface ExpertRoute {
  ids: number[]; // [k] selected expert indices, best selection score first
  weights: number[]; // [k] combination weights, same order
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/** Group g covers experts [g·E/nGroup, (g+1)·E/nGroup). Returns the kept groups' flags [nGroup]. */
function keptGroups(
  selection: Float64Array, // [E]
  config: ModelConfig,
  groupScore: (members: number[]) => number,
): boolean[] {
  const nGroup = Math.max(config.nGroup, 1);
  const size = selection.length / nGroup;
  const scores = new Float64Array(nGroup);
  for (let g = 0; g < nGroup; g++) {
    const members = Array.from(selection.subarray(g * size, (g + 1) * size));
    scores[g] = groupScore(members);
  }
  const kept = new Array<boolean>(nGroup).fill(false);
  for (const g of topkSelect(scores, nGroup, config.topkGroup)) kept[g] = true;
  return kept;
}

/** Zeroes (V2) or −∞-masks (V3) the selection scores of experts outside the kept groups, in place. */
function maskDroppedGroups(selection: Float64Array, kept: boolean[], fill: number): void {
  const size = selection.length / kept.length;
  for (let e = 0; e < selection.length; e++) if (!kept[Math.floor(e / size)]) selection[e] = fill;
}

/** Sum of the two largest values (the V3 group score); a one-expert group scores its only member. */
function sumTopTwo(members: number[]): number {
  const sorted = [...members].sort((a, b) => b - a);
  return sorted[0] + (sorted.length > 1 ? sorted[1] : 0);
}

/** Route one token: logits [E], bias [E] (e_score_correction_bias; V3/V3.2 only, null = zeros). */
export function routeExperts(
  logits: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  config: ModelConfig,
): ExpertRoute {
  const E = logits.length;
  let unbiased: Float64Array; // the scores the weights come from
  let selection: Float64Array; // the scores the choice is made on
  if (config.scoring === 'softmax') {
    // HF takes V2 weights from the masked probabilities themselves (a dropped expert could only weigh 0).
    selection = softmax(logits);
    if (config.topkMethod === 'group_limited_greedy') {
      maskDroppedGroups(selection, keptGroups(selection, config, (m) => Math.max(...m)), 0);
    }
    unbiased = selection;
  } else {
    unbiased = new Float64Array(E);
    selection = new Float64Array(E);
    for (let e = 0; e < E; e++) {
      unbiased[e] = sigmoid(logits[e]);
      selection[e] = unbiased[e] + (bias ? bias[e] : 0);
    }
    maskDroppedGroups(selection, keptGroups(selection, config, sumTopTwo), -Infinity);
  }
  const ids = topkSelect(selection, E, config.numExpertsPerTok);
  let weights = ids.map((e) => unbiased[e]);
  if (config.normTopkProb) {
    const sum = weights.reduce((a, b) => a + b, 0) + 1e-20;
    weights = weights.map((w) => w / sum);
  }
  return { ids, weights: weights.map((w) => w * config.routedScalingFactor) };
}
