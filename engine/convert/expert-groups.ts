// The group rule for keeping N of E routed experts, and the choice of experts from per-expert scores under it.
// Group-limited routing (V2 `group_limited_greedy`, V3/V3.2 `noaux_tc`) splits the E experts into n_group
// contiguous groups and lets a token pick only from its topk_group best groups. After reduction:
// - `greedy` routing ignores groups: n_group = topk_group = 1.
// - Groups are kept when N % n_group == 0 and every group keeps N / n_group experts (at least 2 under
//   `noaux_tc`, whose group score sums a group's two best experts); each group then keeps its own best experts,
//   so the reduced groups are the original groups, thinned. topk_group becomes
//   min(n_group, max(topk_group, ceil(k' / (N / n_group)))) so the kept groups always hold k' = min(k, N) experts.
// - Otherwise the groups collapse: n_group = topk_group = 1 and the N best experts overall are kept.
import type { ModelConfig } from '../config';
import { badCheckpoint } from '../errors';

export interface ReducedRouting {
  nGroup: number;
  topkGroup: number;
  numExpertsPerTok: number; // k' = min(k, N)
}

type RoutingConfig = Pick<ModelConfig, 'nRoutedExperts' | 'numExpertsPerTok' | 'nGroup' | 'topkGroup' | 'topkMethod'>;

/** The routing fields of the model that keeps `keep` (already validated: 1..E) of the config's experts. */
export function reducedRouting(config: RoutingConfig, keep: number): ReducedRouting {
  const numExpertsPerTok = Math.min(config.numExpertsPerTok, keep);
  const collapsed = { nGroup: 1, topkGroup: 1, numExpertsPerTok };
  if (config.topkMethod === 'greedy' || config.nGroup <= 1) return collapsed;
  const perGroup = keep / config.nGroup;
  const smallestGroup = config.topkMethod === 'noaux_tc' ? 2 : 1;
  if (!Number.isInteger(perGroup) || perGroup < smallestGroup) return collapsed;
  const needed = Math.ceil(numExpertsPerTok / perGroup);
  const topkGroup = Math.min(config.nGroup, Math.max(config.topkGroup, needed));
  return { nGroup: config.nGroup, topkGroup, numExpertsPerTok };
}

/**
 * The `keep` kept experts (original ids, ascending) of one layer with E = scores.length experts under `routing`:
 * per group the best N / nGroup by score when groups are kept, else the best N overall. Ties go to the lower id.
 */
export function chooseByScore(scores: ArrayLike<number>, keep: number, routing: ReducedRouting): number[] {
  const E = scores.length;
  const groups = routing.nGroup; // kept groups are the original ones
  const groupSize = E / groups;
  const perGroup = keep / groups;
  const kept: number[] = [];
  for (let g = 0; g < groups; g++) {
    const members = Array.from({ length: groupSize }, (_, i) => g * groupSize + i);
    members.sort((a, b) => scores[b] - scores[a] || a - b);
    kept.push(...members.slice(0, perGroup));
  }
  return kept.sort((a, b) => a - b);
}

/** Throws BAD_CHECKPOINT unless `keep` is an integer in [1, E]. */
export function checkKeep(config: ModelConfig, keep: number): void {
  const E = config.nRoutedExperts;
  if (!Number.isInteger(keep) || keep < 1 || keep > E) {
    throw badCheckpoint('--experts', `a whole number of routed experts to keep, from 1 to n_routed_experts (${E})`,
      String(keep), 'Pick N with 1 <= N <= E; N = E keeps the model unchanged.');
  }
}
