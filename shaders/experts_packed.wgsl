// Routed MoE experts as packed-chunk matrix-vector products (f16/q8/q4 rows, K a multiple of the 16-byte chunk:
// common/packed_chunk.wgsl), the decode fast path of experts.ts; same results as linear_experts.wgsl up to f32
// summation order. The expert of each (token, slot) comes from `expert_ids` on the GPU, clamped to [0, E).
// Stacked expert weights are contiguous: expert e's row r is row e*R + r.
//   swiglu (no DOWN): x [T, K=H], W [E, 2N, K] (per expert N=I gate rows then N up rows):
//           act[t, j, n] = silu(Wg[id]·x[t]) * (Wu[id]·x[t]),  id = expert_ids[t*TOP_K + j]
//   DOWN:   x = act [T, TOP_K, K=I], W [E, N=H, K]:
//           y[t, n] (+)= Σ_j expert_weights[t, j] · (W[id_j][n]·act[t, j, :])   (ACCUMULATE: onto the shared
//           experts' output already in y; one writer per element.)
// Layout as linear_packed.wgsl: WG threads = (WG / LANES) slots x LANES lanes, WG_ROWS rows per workgroup
// (workgroup_id.x), ROWS_PER_THREAD per slot; (y, z) pick the slot (swiglu: t*TOP_K + j; down: t) as z*65535 + y.
#include "step"
#include "weights"

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;           // swiglu: [T, K/4]; down: [T, TOP_K, K/4]
@group(0) @binding(2) var<storage, read> weight4: array<vec4<u32>>;      // [E, 2N or N, ROW_STRIDE/4] packed data
@group(0) @binding(3) var<storage, read> expert_ids: array<u32>;         // [T, TOP_K]
@group(0) @binding(4) var<storage, read_write> y: array<f32>;            // swiglu: [T, TOP_K, N]; down: [T, N]
#ifdef DOWN
@group(0) @binding(5) var<storage, read> expert_weights: array<f32>;     // [T, TOP_K]
#ifdef WEIGHT_QUANTISED
@group(0) @binding(6) var<storage, read> weight: array<u32>;             // the same buffer as words (the scales)
#endif
#else
#ifdef WEIGHT_QUANTISED
@group(0) @binding(5) var<storage, read> weight: array<u32>;             // the same buffer as words (the scales)
#endif
#endif

#include "packed_chunk"
#include "lane_reduce"

const SLOT_GRID_Y: u32 = 65535u;
const SLOTS: u32 = WG / LANES;
const WG_ROWS: u32 = SLOTS * ROWS_PER_THREAD;

fn expert_of(slot: u32) -> u32 {
  return min(expert_ids[slot], E - 1u);
}

fn silu(z: f32) -> f32 {
  return z / (1.0 + exp(-z));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let slot_or_token = wid.z * SLOT_GRID_Y + wid.y;
#ifdef DOWN
  let t = slot_or_token;
  if (t >= step.rows) { return; } // uniform
#else
  let slot = slot_or_token;         // t * TOP_K + j
  if (slot >= step.rows * TOP_K) { return; } // uniform
#endif
  let lane = lid % LANES;
  let first = wid.x * WG_ROWS + (lid / LANES) * ROWS_PER_THREAD;
  var gate: array<f32, ROWS_PER_THREAD>; // down: the weighted sum over the token's experts
#ifdef DOWN
  for (var j = 0u; j < TOP_K; j++) {
    let slot = t * TOP_K + j;
    let first_row = expert_of(slot) * N;
    let routing_weight = expert_weights[slot];
    for (var c = lane; c < CHUNKS; c += LANES) {
      let xc = load_x_chunk(slot * (K / 4u), c);
      for (var r = 0u; r < ROWS_PER_THREAD; r++) {
        gate[r] += routing_weight * chunk_dot(first_row + min(first + r, N - 1u), c, xc);
      }
    }
  }
#else
  var up: array<f32, ROWS_PER_THREAD>;
  let first_row = expert_of(slot) * 2u * N;
  for (var c = lane; c < CHUNKS; c += LANES) {
    let xc = load_x_chunk((slot / TOP_K) * (K / 4u), c);
    for (var r = 0u; r < ROWS_PER_THREAD; r++) {
      let n = first_row + min(first + r, N - 1u);
      gate[r] += chunk_dot(n, c, xc);
      up[r] += chunk_dot(n + N, c, xc);
    }
  }
#endif
#ifdef SHARED_REDUCE
  for (var r = 0u; r < ROWS_PER_THREAD; r++) {
    lane_partials[r * SUMS * WG + lid] = gate[r];
#ifndef DOWN
    lane_partials[(r * SUMS + 1u) * WG + lid] = up[r];
#endif
  }
  reduce_lanes(lid, lane);
  if (lane != 0u) { return; }
  for (var r = 0u; r < ROWS_PER_THREAD; r++) {
    gate[r] = lane_partials[r * SUMS * WG + lid];
#ifndef DOWN
    up[r] = lane_partials[(r * SUMS + 1u) * WG + lid];
#endif
  }
#endif
  for (var r = 0u; r < ROWS_PER_THREAD; r++) {
    let n = first + r;
    if (n < N) {
#ifdef DOWN
#ifdef ACCUMULATE
      y[t * N + n] += gate[r];
#else
      y[t * N + n] = gate[r];
#endif
#else
      y[slot * N + n] = silu(gate[r]) * up[r];
#endif
    }
  }
}
