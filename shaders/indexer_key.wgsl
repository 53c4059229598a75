// DSA indexer key append (deepseek-math.md §6.1 steps 2–3): for each token row t of this step,
//   indexer_cache[pos0 + t] = ropeHalf(LayerNorm(key[t]) with weight and bias, biased variance, EPS)
// where key[t] = the first DI columns of key_and_weights[t] (wk·x) and ropeHalf rotates the half-split pairs
// (i, i + DR/2), i < DR/2, of the first DR dims by the angle of absolute position pos0 + t; dims [DR, DI) are
// copied unrotated. One workgroup of WG threads per row (WG a power of two). No variants.
#include "step"
#include "workgroup_sum"

const HALF: u32 = DR / 2u;
const ROW: u32 = DI + NI; // key_and_weights row stride

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> key_and_weights: array<f32>; // [T, DI + NI]
@group(0) @binding(2) var<storage, read> norm_weight: array<f32>;     // [DI]
@group(0) @binding(3) var<storage, read> norm_bias: array<f32>;       // [DI]
@group(0) @binding(4) var<storage, read> rope_table: array<f32>;      // [positions, DR/2, 2] (cos, sin)
@group(0) @binding(5) var<storage, read_write> indexer_cache: array<f32>; // [maxContext, DI]

var<workgroup> normed: array<f32, DI>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  if (t >= step.rows) { return; }
  let base = t * ROW;

  // Two-pass mean and biased variance: the key is only DI wide, so re-reading it is cheap and more accurate.
  var sum = 0.0;
  for (var i = lid; i < DI; i += WG) { sum += key_and_weights[base + i]; }
  let mean = workgroup_sum(lid, sum) / f32(DI);
  var squares = 0.0;
  for (var i = lid; i < DI; i += WG) {
    let centred = key_and_weights[base + i] - mean;
    squares += centred * centred;
  }
  let inv = inverseSqrt(workgroup_sum(lid, squares) / f32(DI) + EPS);
  for (var i = lid; i < DI; i += WG) {
    normed[i] = (key_and_weights[base + i] - mean) * inv * norm_weight[i] + norm_bias[i];
  }
  workgroupBarrier();

  let pos = step.pos0 + t;
  let out = pos * DI;
  for (var i = lid; i < DI; i += WG) {
    var value = normed[i];
    if (i < HALF) {
      let cs = (pos * HALF + i) * 2u;
      value = normed[i] * rope_table[cs] - normed[i + HALF] * rope_table[cs + 1u];
    } else if (i < DR) {
      let cs = (pos * HALF + i - HALF) * 2u;
      value = normed[i] * rope_table[cs] + normed[i - HALF] * rope_table[cs + 1u];
    }
    indexer_cache[out + i] = value;
  }
}
