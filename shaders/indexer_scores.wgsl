// DSA lightning-indexer scores (deepseek-math.md §6.1 steps 3 and 5): for query row t (absolute position
// p = pos0 + t) and every cached key u ≤ p,
//   scores[t, u] = Σ_j w[t, j] · SCALE · ReLU(ropeHalf(q[t, j], p) · k[u]),   SCALE = NI^−0.5 · DI^−0.5,
// where w = columns DI..DI+NI of key_and_weights and the half-split RoPE of the query's first DR dims is applied
// on the fly while staging (the queries buffer is only read, so the call can be re-encoded safely). Exact zeros
// are written as +0 so that −0 and +0 tie in the top-k. Keys u > p are not written. Rows whose p + 1 ≤ TOPK
// select every key anyway and are skipped.
// Layout: workgroup (x, t) walks key tiles x, x + nx, … of TILE keys, one key per thread; the key tile and the
// query chunk of all NI heads are staged DC dims at a time, each thread keeping NI dot-product accumulators.
#include "step"

const HALF: u32 = DR / 2u;
const ROW: u32 = DI + NI; // key_and_weights row stride
const KS: u32 = DC + 1u;  // padded key-tile row, avoids bank conflicts on k_tile[lid * KS + d]

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> queries: array<f32>;         // [T, NI, DI] not yet rotated
@group(0) @binding(2) var<storage, read> key_and_weights: array<f32>; // [T, DI + NI]
@group(0) @binding(3) var<storage, read> indexer_cache: array<f32>;   // [MAX_CONTEXT, DI] keys (normed, rotated)
@group(0) @binding(4) var<storage, read> rope_table: array<f32>;      // [positions, DR/2, 2] (cos, sin)
@group(0) @binding(5) var<storage, read_write> scores: array<f32>;    // [T, MAX_CONTEXT]

var<workgroup> q_chunk: array<f32, NI * DC>;   // rotated q[t, j, d0 + dd] at j * DC + dd
var<workgroup> k_tile: array<f32, TILE * KS>;  // k[tile * TILE + key, d0 + dd] at key * KS + dd

fn rotated_query(t: u32, head: u32, d: u32) -> f32 {
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

@compute @workgroup_size(TILE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = wid.y;
  if (t >= step.rows) { return; }
  let keys = step.pos0 + t + 1u; // causal: keys 0..pos0+t
  if (keys <= TOPK) { return; }

  for (var tile = wid.x; tile * TILE < keys; tile += groups.x) {
    let u = tile * TILE + lid;
    var dots: array<f32, NI>;
    for (var d0 = 0u; d0 < DI; d0 += DC) {
      workgroupBarrier(); // the previous chunk's readers are done
      for (var i = lid; i < NI * DC; i += TILE) {
        let d = d0 + i % DC;
        q_chunk[i] = select(0.0, rotated_query(t, i / DC, d), d < DI);
      }
      for (var i = lid; i < TILE * DC; i += TILE) {
        let key = tile * TILE + i / DC;
        let d = d0 + i % DC;
        var value = 0.0;
        if (key < keys && d < DI) { value = indexer_cache[key * DI + d]; }
        k_tile[(i / DC) * KS + i % DC] = value;
      }
      workgroupBarrier();
      for (var dd = 0u; dd < DC; dd++) {
        let k = k_tile[lid * KS + dd];
        for (var head = 0u; head < NI; head++) { dots[head] += q_chunk[head * DC + dd] * k; }
      }
    }
    if (u < keys) {
      var total = 0.0;
      for (var head = 0u; head < NI; head++) {
        total += key_and_weights[t * ROW + DI + head] * max(dots[head], 0.0);
      }
      total *= SCALE;
      scores[t * MAX_CONTEXT + u] = select(total, 0.0, total == 0.0);
    }
  }
}
