// Dense projections y[t, n] = Σ_k W[n, k] x[t, k] (PyTorch layout W [N, K]), f32 math, weights f32 or packed
// f16/q8/q4 words (WEIGHT_WORDS; common/weights.wgsl dequantises in registers). Variants:
//   SWIGLU: W is [2N, K] (gate rows [0, N), up rows [N, 2N)); y[t, n] = silu(W[n]·x[t]) * (W[N + n]·x[t]).
//   ACCUMULATE: y[t, n] += W[n]·x[t] (the residual add fused into a block's last projection).
// The prefill path's tiled matmul is linear_matmul.wgsl.
// Entry point:
//   matvec: decode path. A workgroup of WG threads owns ROWS_PER_WG output rows, THREADS_PER_ROW threads per row
//           striding over K in element pairs (coalesced reads of each weight row), then a shared-memory tree
//           reduction. Token t = workgroup_id.z (normally one token). Output-row groups are folded onto a 2D grid
//           of ROW_GRID_X columns so vocab-sized N stays under 65535 workgroups per dimension. LAST_ROW: the one
//           token is the step's last row (t = rows - 1; the logits of the row the sampler reads), not wid.z.
// Split weights (a tensor over the adapter's buffer limit, in parts of whole rows): one dispatch per part, N its
// outputs, writing y columns [OUT_OFFSET, OUT_OFFSET + N) of rows OUT_STRIDE wide (one buffer: 0 and N).
// Every load is bounds-checked: any T, N, K (odd K: the last element has no pair partner).
#include "step"
#include "weights"

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> x: array<f32>;         // [T, K]
#ifdef WEIGHT_WORDS
@group(0) @binding(2) var<storage, read> weight: array<u32>;    // [N or 2N, ROW_STRIDE] packed words (+ scales)
#else
@group(0) @binding(2) var<storage, read> weight: array<f32>;    // [N or 2N, ROW_STRIDE]
#endif
@group(0) @binding(3) var<storage, read_write> y: array<f32>;   // [T, OUT_STRIDE]

#include "row_dot"

var<workgroup> gate_partial: array<f32, WG>;
#ifdef SWIGLU
var<workgroup> up_partial: array<f32, WG>;
#endif

@compute @workgroup_size(WG)
fn matvec(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
#ifdef LAST_ROW
  let t = step.rows - 1u; // rows == 0 wraps to 0xffffffff and returns below
#else
  let t = wid.z;
#endif
  if (t >= step.rows) { return; }
  let lane = lid % THREADS_PER_ROW;
  let slot = lid / THREADS_PER_ROW;
  let n = (wid.y * ROW_GRID_X + wid.x) * ROWS_PER_WG + slot;
  let x_base = t * K;
  // Rows past N still join the barriers below; they just contribute zeros.
  let live = n < N;
  var gate_sum = 0.0;
#ifdef SWIGLU
  var up_sum = 0.0;
#endif
  if (live) {
    gate_sum = row_dot_partial(n, x_base, lane);
#ifdef SWIGLU
    up_sum = row_dot_partial(N + n, x_base, lane);
#endif
  }
  gate_partial[lid] = gate_sum;
#ifdef SWIGLU
  up_partial[lid] = up_sum;
#endif
  workgroupBarrier();
  for (var stride = THREADS_PER_ROW / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      gate_partial[lid] += gate_partial[lid + stride];
#ifdef SWIGLU
      up_partial[lid] += up_partial[lid + stride];
#endif
    }
    workgroupBarrier();
  }
  if (live && lane == 0u) {
#ifdef SWIGLU
    y[t * OUT_STRIDE + OUT_OFFSET + n] = silu(gate_partial[lid]) * up_partial[lid];
#else
#ifdef ACCUMULATE
    y[t * OUT_STRIDE + OUT_OFFSET + n] += gate_partial[lid];
#else
    y[t * OUT_STRIDE + OUT_OFFSET + n] = gate_partial[lid];
#endif
#endif
  }
}
