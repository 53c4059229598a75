// The prefill path of linear.ts: y[t, n] = Σ_k W[n, k] x[t, k] for steps of several token rows as a tiled matrix
// product (common/matmul_tile.wgsl: TILE_T tokens x 128 weight rows a workgroup, THREAD_T x 8 outputs per thread,
// K staged 16 at a time, f32/f16/q8/q4 weights dequantised once per workgroup, any N and K). Variants as
// linear.wgsl's matvec: SWIGLU (W [2N, K], 64 outputs a workgroup from their 64 gate and 64 up rows: y =
// silu(gate)·up), ACCUMULATE (y +=), split weights (N outputs written at columns OUT_OFFSET.. of rows OUT_STRIDE wide).
// Output tiles are folded onto (TILE_GRID_X, y); z = token tile · SPLIT_K + split.
// A prefill chunk is only a few dozen rows, so a projection is a few dozen output tiles, too few to fill a GPU;
// SPLIT_K > 1 cuts K into SPLIT_K ranges of K_SPLIT elements (a multiple of 16), each workgroup writes its range's
// sums to partials [SPLIT_K, T, C] (C = N, or 2N for SWIGLU: gate columns then up), and REDUCE (a second dispatch,
// a thread per output, workgroup (x, y) = (n / 256, t)) sums them in split order and writes y as above.
#include "step"

@group(0) @binding(0) var<uniform> step: Step;

fn silu(z: f32) -> f32 {
  return z / (1.0 + exp(-z));
}

#ifndef SPLIT
// One output: y[t, n] from its sum (SWIGLU: its gate and up sums).
fn write_output(t: u32, n: u32, gate: f32, up: f32) {
  let at = t * OUT_STRIDE + OUT_OFFSET + n;
#ifdef SWIGLU
  y[at] = silu(gate) * up;
#else
#ifdef ACCUMULATE
  y[at] += gate;
#else
  y[at] = gate;
#endif
#endif
}
#endif

#ifdef SWIGLU
const C: u32 = 2u * N;                   // partial columns: gate sums, then up sums
#else
const C: u32 = N;
#endif

#ifdef REDUCE
@group(0) @binding(1) var<storage, read> partials: array<f32>;  // [SPLIT_K, T, C]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;   // [T, OUT_STRIDE]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.y;
  let n = wid.x * 256u + lid;
  if (t >= step.rows || n >= N) { return; }
  var gate = 0.0;
  var up = 0.0;
  for (var s = 0u; s < SPLIT_K; s++) {
    let row = (s * step.rows + t) * C;
    gate += partials[row + n];
#ifdef SWIGLU
    up += partials[row + N + n];
#endif
  }
  write_output(t, n, gate, up);
}
#else
#include "weights"

@group(0) @binding(1) var<storage, read> x: array<f32>;         // [T, K]
#ifdef WEIGHT_WORDS
@group(0) @binding(2) var<storage, read> weight: array<u32>;    // [N or 2N, ROW_STRIDE] packed words (+ scales)
#else
@group(0) @binding(2) var<storage, read> weight: array<f32>;    // [N or 2N, ROW_STRIDE]
#endif
#ifdef SPLIT
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;  // [SPLIT_K, T, C]
#else
@group(0) @binding(3) var<storage, read_write> y: array<f32>;         // [T, OUT_STRIDE]
#endif

#ifdef SWIGLU
const TILE_N: u32 = 64u;
#else
const TILE_N: u32 = 128u;
#endif

var<private> tile_t0: u32;
var<private> tile_n0: u32;

fn tile_x_base(i: u32) -> u32 {
  let t = tile_t0 + i;
  return select(NO_ROW, t * K, t < step.rows);
}

fn tile_weight_row(c: u32) -> u32 {
#ifdef SWIGLU
  let n = tile_n0 + c % 64u;
  return select(NO_ROW, n + (c / 64u) * N, n < N);
#else
  let n = tile_n0 + c;
  return select(NO_ROW, n, n < N);
#endif
}

#include "matmul_tile"

@compute @workgroup_size(MM_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n0 = (wid.y * TILE_GRID_X + wid.x) * TILE_N;
  let t0 = (wid.z / SPLIT_K) * TILE_T;
  let split = wid.z % SPLIT_K;
  // Uniform exit only: the whole workgroup leaves together, so the barriers stay in uniform control flow.
  if (t0 >= step.rows || n0 >= N) { return; }
  tile_n0 = n0;
  tile_t0 = t0;
  matmul_tile(lid, split * K_SPLIT, min(K, (split + 1u) * K_SPLIT));
  let tx = lid % 16u;
  let ty = lid / 16u;
  for (var r = 0u; r < THREAD_T; r++) {
    let t = t0 + THREAD_T * ty + r;
    if (t >= step.rows) { break; }
    for (var q = 0u; q < 4u; q++) {
      let n = n0 + 4u * tx + q;
#ifdef SPLIT
      let row = (split * step.rows + t) * C;
#ifdef SWIGLU
      if (n < N) {
        partials[row + n] = acc_a[r][q];
        partials[row + N + n] = acc_b[r][q];
      }
#else
      if (n < N) { partials[row + n] = acc_a[r][q]; }
      if (n + 64u < N) { partials[row + n + 64u] = acc_b[r][q]; }
#endif
#else
#ifdef SWIGLU
      if (n < N) { write_output(t, n, acc_a[r][q], acc_b[r][q]); }
#else
      if (n < N) { write_output(t, n, acc_a[r][q], 0.0); }
      if (n + 64u < N) { write_output(t, n + 64u, acc_b[r][q], 0.0); }
#endif
#endif
    }
  }
}
#endif
