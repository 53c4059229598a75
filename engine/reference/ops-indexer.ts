// The V3.2 DSA "lightning indexer" in float64 (deepseek-math.md §6.1 steps 5–7): index scores of every query
// row against every cached indexer key, and the top-k key selection that becomes the sparse MLA mask.
// Shapes: qI [T, nI, dI] and kI [L, dI] with the half-split RoPE already applied to their first dR dims,
// w [T, nI] head weights (weights_proj·x), scores [T, L]. Query row t is at absolute position pos0+t; keys
// u > pos0+t are masked with −Infinity (HF adds finfo.min; the selection is the same).

export interface IndexerScoreArgs {
  qI: ArrayLike<number>; // [T, nI, dI]
  kI: ArrayLike<number>; // [L, dI]
  w: ArrayLike<number>; // [T, nI]
  T: number;
  nI: number; // index_n_heads
  dI: number; // index_head_dim
  L: number; // cached keys
  pos0: number;
}

/** I(t,u) = Σ_j w[t,j] · nI^−0.5 · dI^−0.5 · ReLU(qI[t,j]·kI[u]) for u ≤ pos0+t, else −∞. [T, L] */
export function indexerScores(args: IndexerScoreArgs): Float64Array {
  const { qI, kI, w, T, nI, dI, L, pos0 } = args;
  const scale = Math.pow(nI, -0.5) * Math.pow(dI, -0.5);
  const scores = new Float64Array(T * L);
  for (let t = 0; t < T; t++) {
    for (let u = 0; u < L; u++) {
      if (u > pos0 + t) {
        scores[t * L + u] = -Infinity;
        continue;
      }
      let total = 0;
      for (let j = 0; j < nI; j++) {
        let dot = 0;
        for (let d = 0; d < dI; d++) dot += qI[(t * nI + j) * dI + d] * kI[u * dI + d];
        total += w[t * nI + j] * scale * Math.max(dot, 0);
      }
      scores[t * L + u] = total;
    }
  }
  return scores;
}

/**
 * Indices of the min(k, count) largest values among scores[0, count), best first; equal scores keep the lower
 * index first (torch.topk's tie order is unspecified, so tests must not depend on exact ties at the boundary).
 */
export function topkSelect(scores: ArrayLike<number>, count: number, k: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  order.sort((a, b) => (scores[b] === scores[a] ? a - b : scores[b] > scores[a] ? 1 : -1));
  return order.slice(0, Math.min(k, count));
}
