// The routed experts of a prefill step grouped by expert (experts-grouped.ts), around the grouped matmuls of
// experts_grouped.wgsl. Expert ids never leave the GPU.
//   bucket (one workgroup): the step's T·TOP_K (token, slot) pairs, slot s = t·TOP_K + j with expert
//           expert_ids[s] (clamped to [0, E)), sorted by expert into sorted_slots [T·TOP_K]: expert e's slots are
//           sorted_slots[first(e) .. first(e) + count(e)) (in any order within an expert: each slot's output is
//           computed on its own, so the order changes no value); and the expert tiles: tiles[0].x = how many,
//           tiles[1 + i] = (expert, first entry in sorted_slots, rows <= TILE_T, 0) with each expert's slots cut
//           into ceil(count / TILE_T) tiles. Experts no token picked have no tile.
//   COMBINE: y[t, n] (+)= Σ_j expert_weights[t, j] · slot_out[t·TOP_K + j, n] (the routed experts' weighted sum,
//           j in order; ACCUMULATE: added onto the residual stream). Workgroup (x, y) = (n / WG, t).
#include "step"

@group(0) @binding(0) var<uniform> step: Step;
#ifdef COMBINE
@group(0) @binding(1) var<storage, read> slot_out: array<f32>;        // [T·TOP_K, N]
@group(0) @binding(2) var<storage, read> expert_weights: array<f32>;  // [T, TOP_K]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;         // [T, N]

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.y;
  let n = wid.x * WG + lid;
  if (t >= step.rows || n >= N) { return; }
  var sum = 0.0;
  for (var j = 0u; j < TOP_K; j++) {
    let slot = t * TOP_K + j;
    sum += expert_weights[slot] * slot_out[slot * N + n];
  }
#ifdef ACCUMULATE
  y[t * N + n] += sum;
#else
  y[t * N + n] = sum;
#endif
}
#else
@group(0) @binding(1) var<storage, read> expert_ids: array<u32>;          // [T, TOP_K]
@group(0) @binding(2) var<storage, read_write> sorted_slots: array<u32>;  // [T·TOP_K]
@group(0) @binding(3) var<storage, read_write> tiles: array<vec4<u32>>;   // [1 + max tiles]

var<workgroup> counts: array<atomic<u32>, E>;
var<workgroup> cursor: array<atomic<u32>, E>;
var<workgroup> first_slot: array<u32, E>;
var<workgroup> first_tile: array<u32, E>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let slots = step.rows * TOP_K;
  for (var e = lid; e < E; e += WG) {
    atomicStore(&counts[e], 0u);
    atomicStore(&cursor[e], 0u);
  }
  workgroupBarrier();
  for (var s = lid; s < slots; s += WG) { atomicAdd(&counts[min(expert_ids[s], E - 1u)], 1u); }
  workgroupBarrier();
  // E is at most a few hundred: one thread's running sums cost less than a parallel scan's barriers.
  if (lid == 0u) {
    var slot = 0u;
    var tile = 0u;
    for (var e = 0u; e < E; e++) {
      let count = atomicLoad(&counts[e]);
      first_slot[e] = slot;
      first_tile[e] = tile;
      slot += count;
      tile += (count + TILE_T - 1u) / TILE_T;
    }
    tiles[0] = vec4<u32>(tile, 0u, 0u, 0u);
  }
  workgroupBarrier();
  for (var s = lid; s < slots; s += WG) {
    let e = min(expert_ids[s], E - 1u);
    sorted_slots[first_slot[e] + atomicAdd(&cursor[e], 1u)] = s;
  }
  for (var e = lid; e < E; e += WG) {
    let count = atomicLoad(&counts[e]);
    for (var q = 0u; q * TILE_T < count; q++) {
      tiles[1u + first_tile[e] + q] = vec4<u32>(e, first_slot[e] + q * TILE_T, min(TILE_T, count - q * TILE_T), 0u);
    }
  }
}
#endif
