// MLA latent-cache append (deepseek-math.md §3.1 steps 2–3). For each token row t of the step, at absolute
// position p = pos0 + t, with a = kva[t] (the kv_a_proj_with_mqa output):
//   latentCache[p, 0:RKV]      = RMSNorm(a[0:RKV]) ⊙ normWeight        (kv_a_layernorm covers the latent only)
//   latentCache[p, RKV:RKV+DR] = ropeAdjacent(a[RKV:RKV+DR], p)         (shared RoPE key kR: rotated, not normed)
// ropeAdjacent rotates the adjacent pairs (2i, 2i+1) in place: (a, b) -> (a cos φ_i - b sin φ_i, a sin φ_i + b cos φ_i).
// One variant. One workgroup of WG threads per row: a shared-memory sum of squares, then threads over the latent
// dims and the RoPE pairs. Rows whose position falls outside the cache (CACHE_ROWS) are skipped.
#include "step"
#include "workgroup_sum"

const WIDTH: u32 = RKV + DR; // one cached token: [c ; kR]
const HALF: u32 = DR / 2u;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> kva: array<f32>;                 // [T, RKV + DR]
@group(0) @binding(2) var<storage, read> normWeight: array<f32>;          // [RKV]
@group(0) @binding(3) var<storage, read> ropeTable: array<f32>;           // [positions, DR/2, 2] (cos, sin)
@group(0) @binding(4) var<storage, read_write> latentCache: array<f32>;   // [CACHE_ROWS, RKV + DR]

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  let pos = step.pos0 + t;
  if (t >= step.rows || pos >= CACHE_ROWS) { return; }
  let src = t * WIDTH;
  let dst = pos * WIDTH;

  var sum = 0.0;
  for (var i = lid; i < RKV; i += WG) {
    let v = kva[src + i];
    sum += v * v;
  }
  let inv = inverseSqrt(workgroup_sum(lid, sum) / f32(RKV) + EPS);
  for (var i = lid; i < RKV; i += WG) {
    latentCache[dst + i] = normWeight[i] * (kva[src + i] * inv);
  }

  for (var i = lid; i < HALF; i += WG) {
    let cs = (pos * HALF + i) * 2u;
    let c = ropeTable[cs];
    let s = ropeTable[cs + 1u];
    let a = kva[src + RKV + 2u * i];
    let b = kva[src + RKV + 2u * i + 1u];
    latentCache[dst + RKV + 2u * i] = a * c - b * s;
    latentCache[dst + RKV + 2u * i + 1u] = a * s + b * c;
  }
}
