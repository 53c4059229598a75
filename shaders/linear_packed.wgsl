// Dense projections y[t, n] = Σ_k W[n, k] x[t, k] for one token row, weights packed f16/q8/q4 read 16 bytes at a
// time (common/packed_chunk.wgsl; K a multiple of the chunk). The decode fast path of linear.ts; same results as
// linear.wgsl's matvec up to f32 summation order. Variants:
//   SWIGLU: W is [2N, K] (gate rows [0, N), up rows [N, 2N)); y[t, n] = silu(W[n]·x[t]) * (W[N + n]·x[t]).
//   PAIR:   two projections of the same x in one dispatch (q_proj / q_a_proj and kv_a_proj_with_mqa): row groups
//           [0, GROUPS_1) compute y = W·x, the rest y2 = W2·x (W2 [N2, K], same format; its scales at
//           SCALE_OFFSET_2). The branch is per workgroup, so control flow stays uniform.
// Layout (PackedMatvecShape): WG threads = (WG / LANES) slots x LANES lanes. A workgroup owns WG_ROWS consecutive
// output rows, slot s rows s * ROWS_PER_THREAD + r; lane l walks chunks l, l + LANES, ... loading each x chunk
// once for all its rows (on GPUs from a tile of x staged in workgroup memory: packed_chunk's stage_x), then the
// lanes' partials are summed in shared memory (common/lane_reduce.wgsl). Row
// groups are folded onto (ROW_GRID_X, y); token t = workgroup_id.z, or the step's last row with LAST_ROW.
// Rows past N read row N - 1 (in bounds, uniform control flow) and write nothing. y rows are OUT_STRIDE wide and
// this weight's outputs start at column OUT_OFFSET (N and 0 for a whole weight; a part of a row-split weight sets
// its slice).
//   ACCUMULATE: y += W·x (the residual add fused into the projection that ends a block: one writer per element).
//   NORM_INPUT: x is the residual stream; each workgroup norms it (common/input_norm.wgsl) and the first row group
//               writes the normed row to `normed` for later kernels (the RMSNorm before a layer's projections).
//   TRIPLE:     (PAIR with NORM_INPUT) a third projection of the normed x with f32 weights, y3 = W3·x (W3 [N3, K]:
//               V3.2's indexer wk and weights_proj): row groups past the pair's, WG_ROWS rows each, lanes walking
//               K / 4 vec4s, TRIPLE_BATCH of them loaded at a time.
#include "step"
#include "weights"

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;        // [T, K / 4]
@group(0) @binding(2) var<storage, read> weight4: array<vec4<u32>>;   // [N or 2N, ROW_STRIDE / 4] packed data
@group(0) @binding(3) var<storage, read_write> y: array<f32>;         // [T, OUT_STRIDE]
#ifdef WEIGHT_QUANTISED
@group(0) @binding(4) var<storage, read> weight: array<u32>;          // the same buffer as words (the scales)
#endif
#ifdef PAIR
// Numbered on after the first projection's: W2 data, y2, W2's scales (q8/q4).
@group(0) @binding(PAIR_BINDING) var<storage, read> weight2_4: array<vec4<u32>>;     // [N2, ROW_STRIDE / 4]
@group(0) @binding(PAIR_BINDING + 1) var<storage, read_write> y2: array<f32>;        // [T, N2]
#ifdef WEIGHT_QUANTISED
@group(0) @binding(PAIR_BINDING + 2) var<storage, read> weight2: array<u32>;         // W2's buffer as words
#endif
#endif

#ifdef TRIPLE
@group(0) @binding(TRIPLE_BINDING) var<storage, read> weight3_4: array<vec4<f32>>;   // [N3, K / 4] f32
@group(0) @binding(TRIPLE_BINDING + 1) var<storage, read_write> y3: array<f32>;      // [T, N3]
const TRIPLE_BATCH: u32 = 4u; // vec4 steps whose loads are issued together
#endif

#ifdef NORM_INPUT
@group(0) @binding(NORM_BINDING) var<storage, read> norm_w4: array<vec4<f32>>;          // [K / 4] norm weight
@group(0) @binding(NORM_BINDING + 1) var<storage, read_write> normed4: array<vec4<f32>>; // [T, K / 4] out
#include "workgroup_sum"
#include "input_norm"
#endif
#include "packed_chunk"
#include "lane_reduce"

const SLOTS: u32 = WG / LANES;
const WG_ROWS: u32 = SLOTS * ROWS_PER_THREAD;

fn silu(z: f32) -> f32 {
  return z / (1.0 + exp(-z));
}

// Chunk c of row n of W (second: of W2) and its scale.
fn projection_row_chunk(second: bool, n: u32, c: u32) -> RowChunk {
#ifdef PAIR
  if (second) {
#ifdef WEIGHT_QUANTISED
    let g = c * CHUNK / GROUP;
    return RowChunk(weight2_4[n * ROW_CHUNKS + c], unpack2x16float(weight2[SCALE_OFFSET_2 + n * SCALE_ROW_STRIDE + g / 2u])[g & 1u]);
#else
    return RowChunk(weight2_4[n * ROW_CHUNKS + c], 1.0);
#endif
  }
#endif
  return row_chunk(n, c);
}

// Row n of W (second: W2) chunk c · x chunk.
fn projection_chunk_dot(second: bool, n: u32, c: u32, xc: XChunk) -> f32 {
  return row_chunk_dot(projection_row_chunk(second, n, c), xc);
}

#ifdef TRIPLE
const K4: u32 = K / 4u;

// Rows first .. first + ROWS_PER_THREAD of y3 = W3·(normed x row t), this thread's lanes' share, then summed.
fn project_third(t: u32, first: u32, lid: u32, lane: u32) {
  var acc: array<f32, ROWS_PER_THREAD>;
  for (var j0 = lane; j0 < K4; j0 += TRIPLE_BATCH * LANES) {
    var w: array<vec4<f32>, TRIPLE_BATCH * ROWS_PER_THREAD>;
    var xv: array<vec4<f32>, TRIPLE_BATCH>;
    for (var b = 0u; b < TRIPLE_BATCH; b++) {
      let j = min(j0 + b * LANES, K4 - 1u);
      xv[b] = select(vec4<f32>(0.0), normed_x4(t, j), j0 + b * LANES < K4);
      for (var r = 0u; r < ROWS_PER_THREAD; r++) {
        w[b * ROWS_PER_THREAD + r] = weight3_4[min(first + r, N3 - 1u) * K4 + j];
      }
    }
    for (var b = 0u; b < TRIPLE_BATCH; b++) {
      for (var r = 0u; r < ROWS_PER_THREAD; r++) { acc[r] += dot(w[b * ROWS_PER_THREAD + r], xv[b]); }
    }
  }
#ifdef SHARED_REDUCE
  var unused: array<f32, ROWS_PER_THREAD>;
  sum_lanes(lid, lane, &acc, &unused);
  if (lane != 0u) { return; }
#endif
  for (var r = 0u; r < ROWS_PER_THREAD; r++) {
    if (first + r < N3) { y3[t * N3 + first + r] = acc[r]; }
  }
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
#ifdef LAST_ROW
  let t = step.rows - 1u; // rows == 0 wraps to 0xffffffff and returns below
#else
  let t = wid.z;
#endif
  if (t >= step.rows) { return; } // uniform: the same t for the whole workgroup
  let lane = lid % LANES;
  let slot = lid / LANES;
  var group = wid.y * ROW_GRID_X + wid.x;
  var rows_out = N;
  var second = false;
  var third = false;
#ifdef PAIR
  if (group >= GROUPS_1) {
    second = true;
    group -= GROUPS_1;
    rows_out = N2;
  }
#ifdef TRIPLE
  if (second && group >= GROUPS_2) {
    second = false;
    third = true;
    group -= GROUPS_2;
  }
#endif
#endif
  let first = group * WG_ROWS + slot * ROWS_PER_THREAD;
#ifdef NORM_INPUT
  input_norm(t, lid, group == 0u && !second && !third);
#endif
#ifdef TRIPLE
  if (third) { // uniform: the workgroup's
    project_third(t, first, lid, lane);
    return;
  }
#endif
  var gate: array<f32, ROWS_PER_THREAD>;
  var up: array<f32, ROWS_PER_THREAD>; // SWIGLU's up rows (unused otherwise)
#ifdef SHARED_REDUCE
  // x a tile at a time through workgroup memory, TILE_STEPS chunks per lane per tile (those past K discarded); the
  // tile's weight loads are issued first, so they are in flight while x is staged.
  for (var c0 = 0u; c0 < CHUNKS; c0 += TILE_CHUNKS) {
    var w: array<RowChunk, TILE_STEPS * ROWS_PER_THREAD>;
#ifdef SWIGLU
    var w_up: array<RowChunk, TILE_STEPS * ROWS_PER_THREAD>;
#endif
    for (var s = 0u; s < TILE_STEPS; s++) {
      let c = min(c0 + s * LANES + lane, CHUNKS - 1u);
      for (var r = 0u; r < ROWS_PER_THREAD; r++) {
        let n = min(first + r, rows_out - 1u);
        w[s * ROWS_PER_THREAD + r] = projection_row_chunk(second, n, c);
#ifdef SWIGLU
        w_up[s * ROWS_PER_THREAD + r] = row_chunk(N + n, c);
#endif
      }
    }
    stage_x(t * (K / 4u), c0, CHUNKS, lid);
    for (var s = 0u; s < TILE_STEPS; s++) {
      let local = s * LANES + lane;
      let live = c0 + local < CHUNKS;
      let xc = staged_x_chunk(local);
      for (var r = 0u; r < ROWS_PER_THREAD; r++) {
        gate[r] += select(0.0, row_chunk_dot(w[s * ROWS_PER_THREAD + r], xc), live);
#ifdef SWIGLU
        up[r] += select(0.0, row_chunk_dot(w_up[s * ROWS_PER_THREAD + r], xc), live);
#endif
      }
    }
  }
#else
  for (var c = lane; c < CHUNKS; c += LANES) {
    let xc = load_x_chunk(t * (K / 4u), c);
    for (var r = 0u; r < ROWS_PER_THREAD; r++) {
      let n = min(first + r, rows_out - 1u);
      gate[r] += projection_chunk_dot(second, n, c, xc);
#ifdef SWIGLU
      up[r] += chunk_dot(N + n, c, xc);
#endif
    }
  }
#endif
#ifdef SHARED_REDUCE
  sum_lanes(lid, lane, &gate, &up);
  if (lane != 0u) { return; }
#endif
  for (var r = 0u; r < ROWS_PER_THREAD; r++) {
    let n = first + r;
    if (n < rows_out) {
#ifdef SWIGLU
      y[t * OUT_STRIDE + OUT_OFFSET + n] = silu(gate[r]) * up[r];
#else
#ifdef PAIR
      if (second) { y2[t * N2 + n] = gate[r]; } else { y[t * OUT_STRIDE + OUT_OFFSET + n] = gate[r]; }
#else
#ifdef ACCUMULATE
      y[t * OUT_STRIDE + OUT_OFFSET + n] += gate[r];
#else
      y[t * OUT_STRIDE + OUT_OFFSET + n] = gate[r];
#endif
#endif
#endif
    }
  }
}
