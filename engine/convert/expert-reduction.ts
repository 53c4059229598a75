// Keeping N of the E routed experts in every MoE layer (`--experts N`). `chooseExperts` scores each layer's
// experts by the routing weight the ORIGINAL model gives them (routing-statistics.ts) over calibration token ids,
// or, without calibration, over a fixed pseudo-random token stream (the heuristic), and keeps the best N under the
// group rule (expert-groups.ts). `reduceExperts` (reduced-source.ts) then serves the reduced model as a
// TensorSource. An ExpertSelection is plain JSON, so a converter can store it beside the package.
import type { ModelConfig } from '../config';
import type { TensorSource } from '../weights/tensor-source';
import { checkKeep, chooseByScore, reducedRouting } from './expert-groups';
import { checkTokenIds, collectRoutingStatistics, pseudoRandomTokens } from './routing-statistics';

export { checkKeep } from './expert-groups';
export { reduceExperts } from './reduced-source';

export interface LayerSelection {
  layer: number; // decoder layer index of a MoE layer
  kept: number[]; // [N] original expert ids, ascending; reduced expert j is original kept[j]
  score: number[]; // [E] every original expert's score (summed routing weight), by original id
}

export interface ExpertSelection {
  keep: number; // N
  originalExperts: number; // E
  method: 'calibration' | 'heuristic';
  calibrationTokens: number; // tokens the statistics were taken over
  nGroup: number; // reduced model's n_group
  topkGroup: number; // reduced model's topk_group
  numExpertsPerTok: number; // reduced model's k = min(k, N)
  perLayer: LayerSelection[]; // one per MoE layer, ascending
}

export interface ChooseExpertsOptions {
  /** Token-id sequences to run the original model on; absent = the heuristic's fixed pseudo-random stream. */
  calibration?: number[][];
  onProgress?: (layersDone: number, layers: number) => void;
}

/** An ExpertSelection keeping, per MoE layer, the best `keep` experts by `scores[i]` ([E] for MoE layer i). */
export function selectionFromScores(
  config: ModelConfig,
  keep: number,
  scores: readonly ArrayLike<number>[],
  method: ExpertSelection['method'],
  calibrationTokens: number,
): ExpertSelection {
  checkKeep(config, keep);
  const routing = reducedRouting(config, keep);
  const perLayer = scores.map((score, i) => ({
    layer: config.firstKDense + i,
    kept: chooseByScore(score, keep, routing),
    score: Array.from(score),
  }));
  return { keep, originalExperts: config.nRoutedExperts, method, calibrationTokens, ...routing, perLayer };
}

export async function chooseExperts(
  source: TensorSource,
  keep: number,
  options: ChooseExpertsOptions = {},
): Promise<ExpertSelection> {
  const config = source.config;
  checkKeep(config, keep);
  const method = options.calibration ? 'calibration' : 'heuristic';
  if (options.calibration) checkTokenIds(options.calibration, config.vocabSize, 'calibration tokens');
  if (keep === config.nRoutedExperts) {
    // Everything is kept: no statistics to run (they would take hours on a large checkpoint); scores are 0.
    const zeros = Array.from({ length: config.numLayers - config.firstKDense }, () => new Float64Array(keep));
    return selectionFromScores(config, keep, zeros, method, 0);
  }
  const tokens = options.calibration ?? pseudoRandomTokens(config.vocabSize);
  const stats = await collectRoutingStatistics(source, tokens, { onProgress: options.onProgress });
  return selectionFromScores(config, keep, stats.layers.map((l) => l.weightSum), method, stats.tokens);
}
