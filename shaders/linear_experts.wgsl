// Routed MoE experts as matrix-vector products, with the expert of each (token, slot) read from `expert_ids` on
// the GPU (ids never go back to the CPU). Stacked expert weights are contiguous: expert e's row r is row e*R + r.
// Entry points (f32 math, weights f32 or packed f16/q8/q4 words via WEIGHT_WORDS):
//   swiglu: x [T, K=H], W [E, 2N, K] (per expert N=I gate rows then N up rows):
//           act[t, j, n] = silu(Wg[id]·x[t]) * (Wu[id]·x[t]),  id = expert_ids[t*TOP_K + j]
//   down:   x = act [T, TOP_K, K=I], W [E, N=H, K]:
//           y[t, n] += Σ_j expert_weights[t, j] · (W[id_j][n]·act[t, j, :])   (ACCUMULATE: the shared expert's
//           output is already in y; one writer per element, so no atomics. Without ACCUMULATE, y is overwritten.)
// Layout as linear.wgsl's matvec: WG threads, THREADS_PER_ROW per output row, ROWS_PER_WG rows per workgroup;
// workgroup_id.x picks the row group, (y, z) the slot (swiglu: t*TOP_K + j; down: t) folded as z*65535 + y.
// Ids are clamped to [0, E) so a corrupt id reads a real expert instead of another layer's memory.
#include "step"
#include "weights"

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> x: array<f32>;                // swiglu: [T, K]; down: [T, TOP_K, K]
#ifdef WEIGHT_WORDS
@group(0) @binding(2) var<storage, read> weight: array<u32>;           // [E, 2N or N, ROW_STRIDE] packed words (+ scales)
#else
@group(0) @binding(2) var<storage, read> weight: array<f32>;           // [E, 2N or N, ROW_STRIDE]
#endif
@group(0) @binding(3) var<storage, read> expert_ids: array<u32>;       // [T, TOP_K]
@group(0) @binding(4) var<storage, read_write> y: array<f32>;          // swiglu: [T, TOP_K, N]; down: [T, N]
@group(0) @binding(5) var<storage, read> expert_weights: array<f32>;   // [T, TOP_K] (down only)

#include "row_dot"

const SLOT_GRID_Y: u32 = 65535u;

fn expert_of(slot: u32) -> u32 {
  return min(expert_ids[slot], E - 1u);
}

var<workgroup> gate_partial: array<f32, WG>;
var<workgroup> up_partial: array<f32, WG>;

// Sums each row's THREADS_PER_ROW partials in place; lane 0 of a row ends up holding the total.
fn reduce_rows(lid: u32, lane: u32, both: bool) {
  workgroupBarrier();
  for (var stride = THREADS_PER_ROW / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      gate_partial[lid] += gate_partial[lid + stride];
      if (both) { up_partial[lid] += up_partial[lid + stride]; }
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn swiglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let slot = wid.z * SLOT_GRID_Y + wid.y;            // t * TOP_K + j
  if (slot >= step.rows * TOP_K) { return; }
  let lane = lid % THREADS_PER_ROW;
  let n = wid.x * ROWS_PER_WG + lid / THREADS_PER_ROW;
  let live = n < N;
  var gate_sum = 0.0;
  var up_sum = 0.0;
  if (live) {
    let first_row = expert_of(slot) * 2u * N;
    let x_base = (slot / TOP_K) * K;
    gate_sum = row_dot_partial(first_row + n, x_base, lane);
    up_sum = row_dot_partial(first_row + N + n, x_base, lane);
  }
  gate_partial[lid] = gate_sum;
  up_partial[lid] = up_sum;
  reduce_rows(lid, lane, true);
  if (live && lane == 0u) {
    y[slot * N + n] = silu(gate_partial[lid]) * up_partial[lid];
  }
}

@compute @workgroup_size(WG)
fn down(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.z * SLOT_GRID_Y + wid.y;
  if (t >= step.rows) { return; }
  let lane = lid % THREADS_PER_ROW;
  let n = wid.x * ROWS_PER_WG + lid / THREADS_PER_ROW;
  let live = n < N;
  var sum = 0.0;
  if (live) {
    // Weighting each lane's partial before the reduction is exact algebra (the sum is linear) and saves
    // TOP_K reductions.
    for (var j = 0u; j < TOP_K; j++) {
      let slot = t * TOP_K + j;
      sum += expert_weights[slot] * row_dot_partial(expert_of(slot) * N + n, slot * K, lane);
    }
  }
  gate_partial[lid] = sum;
  reduce_rows(lid, lane, false);
  if (live && lane == 0u) {
#ifdef ACCUMULATE
    y[t * N + n] += gate_partial[lid];
#else
    y[t * N + n] = gate_partial[lid];
#endif
  }
}
