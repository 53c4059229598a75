// Dense projections y[t, n] = Σ_k W[n, k] x[t, k] (PyTorch layout W [N, K]), f32 math, weights f32 or packed
// f16/q8/q4 words (WEIGHT_WORDS; common/weights.wgsl dequantises in registers). Variants:
//   SWIGLU: W is [2N, K] (gate rows [0, N), up rows [N, 2N)); y[t, n] = silu(W[n]·x[t]) * (W[N + n]·x[t]).
//   ACCUMULATE: y[t, n] += W[n]·x[t] (the residual add fused into a block's last projection).
// Entry points:
//   matvec: decode path. A workgroup of WG threads owns ROWS_PER_WG output rows, THREADS_PER_ROW threads per row
//           striding over K in element pairs (coalesced reads of each weight row), then a shared-memory tree
//           reduction. Token t = workgroup_id.z (normally one token). Output-row groups are folded onto a 2D grid
//           of ROW_GRID_X columns so vocab-sized N stays under 65535 workgroups per dimension. LAST_ROW: the one
//           token is the step's last row (t = rows - 1; the logits of the row the sampler reads), not wid.z.
//   matmul: prefill path. A 16x16 workgroup computes a TILE_T x TILE_N output tile; each thread owns a
//           (TILE_T/16) x (TILE_N/16) block strided by 16 (conflict-free shared reads), K is walked in TILE_K slices
//           staged k-major in shared memory. Output tiles are folded onto (TILE_GRID_X, y); token tiles on z.
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

// ---- matmul (prefill) ----
const THREAD_T: u32 = TILE_T / 16u;          // outputs per thread along tokens
const THREAD_N: u32 = TILE_N / 16u;          // outputs per thread along N
#ifdef SWIGLU
const W_TILE_ROWS: u32 = 2u * TILE_N;        // gate rows, then the matching up rows
#else
const W_TILE_ROWS: u32 = TILE_N;
#endif
const TILE_K_PAIRS: u32 = TILE_K / 2u;

var<workgroup> x_tile: array<f32, TILE_K * TILE_T>;        // [TILE_K][TILE_T]
var<workgroup> w_tile: array<f32, TILE_K * W_TILE_ROWS>;   // [TILE_K][W_TILE_ROWS]

// Weight elements (k, k + 1) of `row`, zero past K.
fn weight_pair_checked(row: u32, k: u32) -> vec2<f32> {
  let row_base = row * ROW_STRIDE;
  if (k + 1u < K) { return weight_pair(&weight, row_base, k); }
  if (k < K) { return vec2<f32>(weight_at(row_base, k), 0.0); }
  return vec2<f32>(0.0);
}

fn load_tiles(t0: u32, n0: u32, k0: u32, lid: u32) {
  for (var e = lid; e < TILE_T * TILE_K; e += WG) {
    let tt = e / TILE_K;
    let kk = e % TILE_K;
    let t = t0 + tt;
    let k = k0 + kk;
    var v = 0.0;
    if (t < step.rows && k < K) { v = x[t * K + k]; }
    x_tile[kk * TILE_T + tt] = v;
  }
  for (var e = lid; e < W_TILE_ROWS * TILE_K_PAIRS; e += WG) {
    let r = e / TILE_K_PAIRS;
    let kk = 2u * (e % TILE_K_PAIRS);
    let n = n0 + r % TILE_N;
    var pair = vec2<f32>(0.0);
    if (n < N) { pair = weight_pair_checked(n + (r / TILE_N) * N, k0 + kk); }
    w_tile[kk * W_TILE_ROWS + r] = pair.x;
    w_tile[(kk + 1u) * W_TILE_ROWS + r] = pair.y;
  }
}

@compute @workgroup_size(16, 16)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let n0 = (wid.y * TILE_GRID_X + wid.x) * TILE_N;
  let t0 = wid.z * TILE_T;
  // Uniform exit only: the whole workgroup leaves together, so the barriers below stay in uniform control flow.
  if (t0 >= step.rows || n0 >= N) { return; }
  var gate: array<array<f32, THREAD_N>, THREAD_T>;
#ifdef SWIGLU
  var up: array<array<f32, THREAD_N>, THREAD_T>;
#endif
  for (var k0 = 0u; k0 < K; k0 += TILE_K) {
    load_tiles(t0, n0, k0, lid);
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      var xs: array<f32, THREAD_T>;
      for (var i = 0u; i < THREAD_T; i++) { xs[i] = x_tile[kk * TILE_T + local.y + 16u * i]; }
      for (var j = 0u; j < THREAD_N; j++) {
        let col = kk * W_TILE_ROWS + local.x + 16u * j;
        let wg = w_tile[col];
#ifdef SWIGLU
        let wu = w_tile[col + TILE_N];
#endif
        for (var i = 0u; i < THREAD_T; i++) {
          gate[i][j] += xs[i] * wg;
#ifdef SWIGLU
          up[i][j] += xs[i] * wu;
#endif
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < THREAD_T; i++) {
    let t = t0 + local.y + 16u * i;
    for (var j = 0u; j < THREAD_N; j++) {
      let n = n0 + local.x + 16u * j;
      if (t < step.rows && n < N) {
#ifdef SWIGLU
        y[t * OUT_STRIDE + OUT_OFFSET + n] = silu(gate[i][j]) * up[i][j];
#else
#ifdef ACCUMULATE
        y[t * OUT_STRIDE + OUT_OFFSET + n] += gate[i][j];
#else
        y[t * OUT_STRIDE + OUT_OFFSET + n] = gate[i][j];
#endif
#endif
      }
    }
  }
}
