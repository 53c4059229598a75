// The DSA indexer's query side as the scores kernels use it (indexer_scores.wgsl, indexer_scores_tiled.wgsl): dim d
// of head `head` of row t, with the half-split RoPE of its first DR dims applied at position pos0 + t (0 past NI
// heads or DI dims), and the per-head weights (weights_proj·x, after the key in key_and_weights rows). Heads go in
// quads, one vec4 per dim. The includer declares `step`, `queries` [T, NI, DI], `key_and_weights` [T, DI + NI],
// `rope_table` and NI, DI, DR.

const HALF: u32 = DR / 2u;
const ROW: u32 = DI + NI; // key_and_weights row stride

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

// Dim d of heads h..h+3 of row t, rotated.
fn rotated_query_quad(t: u32, h: u32, d: u32) -> vec4<f32> {
  return vec4<f32>(rotated_query(t, h, d), rotated_query(t, h + 1u, d), rotated_query(t, h + 2u, d),
                   rotated_query(t, h + 3u, d));
}

// The weights of heads 4·quad..4·quad+3 of row t (0 past NI).
fn head_weight_quad(t: u32, quad: u32) -> vec4<f32> {
  var w = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) {
    let head = 4u * quad + i;
    if (head < NI) { w[i] = key_and_weights[t * ROW + DI + head]; }
  }
  return w;
}
