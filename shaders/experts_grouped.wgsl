// Routed MoE experts of a prefill step as tiled matrix products per expert (experts-grouped.ts): every expert's
// weight tile is read and dequantised once per tile of up to TILE_T of the (token, slot) pairs that picked it, instead
// of once per pair as in the matrix-vector kernels (experts_packed.wgsl, linear_experts.wgsl). The pairs come sorted
// by expert with their tiles from experts_group.wgsl's bucket; workgroup (x, y) = (output block, tile), and a
// workgroup past the step's tile count leaves at once. Core: common/matmul_tile.wgsl (any K, f32/f16/q8/q4 weights).
// Stacked expert weights are contiguous: expert e's row r is row e·R + r. Slot s = t·TOP_K + j.
//   (no DOWN) gate + up + SiLU: x [T, K=H], W [E, 2N, K] (per expert N = I gate rows, then N up rows), 64 outputs
//           a workgroup:  act[t, j·N + n] = silu(Wg[e]·x[t]) · (Wu[e]·x[t])  (act rows ACT_STRIDE wide)
//   DOWN:   x = act [T, ACT_STRIDE] (slot s's K = I values at t·ACT_STRIDE + j·K), W [E, N=H, K], 128 outputs a
//           workgroup:  slot_out[s, n] = W[e][n]·act[s]  (unweighted; experts_group.wgsl's COMBINE sums the slots)
// No step uniform: the tile table (written by the bucket for this step's rows) says everything.
#include "weights"

@group(0) @binding(0) var<storage, read> x: array<f32>;               // no DOWN: [T, K]; DOWN: [T, ACT_STRIDE]
#ifdef WEIGHT_WORDS
@group(0) @binding(1) var<storage, read> weight: array<u32>;          // [E, 2N or N, ROW_STRIDE] packed words (+ scales)
#else
@group(0) @binding(1) var<storage, read> weight: array<f32>;          // [E, 2N or N, ROW_STRIDE]
#endif
@group(0) @binding(2) var<storage, read> sorted_slots: array<u32>;    // [T·TOP_K], grouped by expert
@group(0) @binding(3) var<storage, read> tiles: array<vec4<u32>>;     // [0].x tile count; [1 + i] (expert, first, rows, 0)
@group(0) @binding(4) var<storage, read_write> y: array<f32>;         // no DOWN: act [T, ACT_STRIDE]; DOWN: [T·TOP_K, N]

#ifdef DOWN
const TILE_N: u32 = 128u;
#else
const TILE_N: u32 = 64u;
#endif

var<workgroup> tile_info: vec4<u32>;
var<workgroup> row_x_base: array<u32, TILE_T>;  // x offset of each tile row (NO_ROW past the tile's rows)
var<private> tile_expert: u32;
var<private> tile_n0: u32;

fn tile_x_base(i: u32) -> u32 {
  return row_x_base[i];
}

fn tile_weight_row(c: u32) -> u32 {
#ifdef DOWN
  let n = tile_n0 + c;
  return select(NO_ROW, tile_expert * N + n, n < N);
#else
  let n = tile_n0 + c % 64u;
  return select(NO_ROW, tile_expert * 2u * N + (c / 64u) * N + n, n < N);
#endif
}

#include "matmul_tile"

fn silu(z: f32) -> f32 {
  return z / (1.0 + exp(-z));
}

@compute @workgroup_size(MM_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) {
    var info = vec4<u32>(0u);
    if (wid.y < tiles[0].x) { info = tiles[1u + wid.y]; }
    tile_info = info;
  }
  let info = workgroupUniformLoad(&tile_info);
  let n0 = wid.x * TILE_N;
  if (info.z == 0u || n0 >= N) { return; } // uniform: past the step's tiles, or an empty one
  tile_expert = min(info.x, E - 1u);
  tile_n0 = n0;
  let first = info.y;
  let rows = info.z;
  for (var i = lid; i < TILE_T; i += MM_WG) {
    var base = NO_ROW;
    if (i < rows) {
      let slot = sorted_slots[first + i];
#ifdef DOWN
      base = (slot / TOP_K) * ACT_STRIDE + (slot % TOP_K) * K;
#else
      base = (slot / TOP_K) * K;
#endif
    }
    row_x_base[i] = base;
  }
  workgroupBarrier();
  matmul_tile(lid, 0u, K);
  let tx = lid % 16u;
  let ty = lid / 16u;
  for (var r = 0u; r < THREAD_T; r++) {
    let i = THREAD_T * ty + r;
    if (i >= rows) { break; }
    let slot = sorted_slots[first + i];
    for (var q = 0u; q < 4u; q++) {
      let n = n0 + 4u * tx + q;
#ifdef DOWN
      if (n < N) { y[slot * N + n] = acc_a[r][q]; }
      if (n + 64u < N) { y[slot * N + n + 64u] = acc_b[r][q]; }
#else
      if (n < N) { y[(slot / TOP_K) * ACT_STRIDE + (slot % TOP_K) * N + n] = silu(acc_a[r][q]) * acc_b[r][q]; }
#endif
    }
  }
}
