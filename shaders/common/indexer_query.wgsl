// The DSA indexer's query as the scores kernels use it (indexer_scores.wgsl, indexer_scores_tiled.wgsl): dim d of
// head `head` of row t, with the half-split RoPE of its first DR dims applied at position pos0 + t (0 past NI heads
// or DI dims). The includer declares `step`, `queries` [T, NI, DI], `rope_table` and NI, DI, DR, HALF = DR / 2.
fn rotated_query(t: u32, head: u32, d: u32) -> f32 {
  if (head >= NI || d >= DI) { return 0.0; }
  let base = (t * NI + head) * DI;
  let pos = step.pos0 + t;
  if (d < HALF) {
    let cs = (pos * HALF + d) * 2u;
    return queries[base + d] * rope_table[cs] - queries[base + d + HALF] * rope_table[cs + 1u];
  }
  if (d < DR) {
    let cs = (pos * HALF + d - HALF) * 2u;
    return queries[base + d] * rope_table[cs] + queries[base + d - HALF] * rope_table[cs + 1u];
  }
  return queries[base + d];
}
