// The two kv_b_proj products of mla_absorb.wgsl for steps of many token rows (prefill chunks on GPUs), as register-
// tiled products that read each weight word once per tile of token rows (mla_absorb.wgsl: once per 4 rows). Same
// maths and bindings as its variants; head h's block of kv_b_proj = rows [h(DN+DV), (h+1)(DN+DV)): W_UK_h its first
// DN rows, W_UV_h the next DV. Variants (booleans): WEIGHT_F16 (kv_b_proj as f16 pairs, common/weights.wgsl) and
//   default  — query absorption qAbs[t,h, 0:RKV] = W_UK_hᵀ·q[t,h, 0:DN], qAbs[t,h, RKV:] = ropeAdjacent(qR, pos0 + t).
//              Workgroup (head h, tile of TT = 32 rows, block of TN = 128 columns) of WG = 256 threads computes
//              qN_tile [TT, DN] · W_UK_h[:, block], DN staged KC = 16 rows at a time in workgroup memory (W_UK_h
//              is read along its rows here, so common/matmul_tile.wgsl, which reads along K, does not fit). Thread
//              (ty, tx) = (lid / 32, lid % 32) owns rows 4ty .. 4ty + 3 and columns 4tx .. 4tx + 3: per dim one
//              vec4 of W (a warp's 32 consecutive vec4s) and one vec4 of qN (one address a warp: a broadcast) feed
//              16 FMAs. The next slice's loads are issued before the current slice's products and staged after.
//              APPEND: the latent-cache append of mla_absorb.wgsl, by the extra workgroups h = NH, 8 rows at a time
//              (32 threads a row), the column blocks taking turns over the tile's groups of 8 rows.
//   VALUE_UP — value up-projection out[t, h·DV + n] = Σ_j W_UV_h[n, j]·ô[t,h,j]: common/matmul_tile.wgsl (x = ô
//              rows of head h, weight rows = W_UV_h's) over K = RKV; workgroup (h·VALUE_BLOCKS + block of 128
//              outputs, tile of TILE_T rows).
#include "step"
#include "weights"

const HEAD_ROWS: u32 = DN + DV;       // rows of kv_b_proj per head

@group(0) @binding(0) var<uniform> step: Step;
#ifdef WEIGHT_F16
@group(0) @binding(2) var<storage, read> weight: array<u32>;   // kv_b_proj [NH*(DN+DV), ceil(RKV/2)] f16 pairs
#else
@group(0) @binding(2) var<storage, read> weight: array<f32>;   // kv_b_proj [NH*(DN+DV), RKV]
#endif

#ifndef VALUE_UP
const DQK: u32 = DN + DR;
const QABS_WIDTH: u32 = RKV + DR;
const HALF: u32 = DR / 2u;
const PAIRS: u32 = (RKV + 1u) / 2u;   // column pairs of a kv_b_proj row (the last one half-empty when RKV is odd)

@group(0) @binding(1) var<storage, read> q: array<f32>;             // [T, NH, DN + DR] (RoPE not yet applied)
@group(0) @binding(3) var<storage, read> ropeTable: array<f32>;     // [positions, DR/2, 2] (cos, sin)
@group(0) @binding(4) var<storage, read_write> qAbs: array<f32>;    // [T, NH, RKV + DR]
#include "mla_rope"

const TN: u32 = 128u;                  // qAbs columns a workgroup
const KC: u32 = 16u;                   // W_UK_h rows (qN dims) a slice
const QS: u32 = TT + 4u;               // qTile row stride (floats): padded so the staging writes spread over banks
const COL_BLOCKS: u32 = (RKV + TN - 1u) / TN;
const QP: u32 = KC * TT / WG;          // qN values a thread stages per slice
const WP: u32 = KC * TN / 2u / WG;     // weight pairs a thread stages per slice

var<workgroup> qTile: array<vec4<f32>, KC * QS / 4u>;  // [KC][QS] qN of the tile's rows, dim-major
var<workgroup> wTile: array<vec4<f32>, KC * TN / 4u>;  // [KC][TN] W_UK_h rows k0 .. k0 + KC - 1, the block's columns
var<private> qNext: array<f32, QP>;
#ifdef WEIGHT_F16
var<private> wNext: array<u32, WP>;                    // as loaded: f16 pairs, unpacked when staged
#else
var<private> wNext: array<vec2<f32>, WP>;
#endif

// Loads slice k0 (qN dims k0 .. k0 + KC - 1) into registers; dims past DN and rows past the step read as 0.
fn fetch_slice(h: u32, t0: u32, n0: u32, k0: u32, lid: u32) {
  for (var r = 0u; r < QP; r++) {
    let e = lid + r * WG;
    let t = t0 + e / KC;
    let k = k0 + e % KC;
    var v = 0.0;
    if (t < step.rows && k < DN) { v = q[(t * NH + h) * DQK + k]; }
    qNext[r] = v;
  }
  for (var r = 0u; r < WP; r++) {
    let e = lid + r * WG;
    let k = min(k0 + e / (TN / 2u), DN - 1u);                   // rows past DN: any row (their qN is 0)
    let n = min(n0 + 2u * (e % (TN / 2u)), 2u * (PAIRS - 1u));  // columns past RKV: never stored
    let rowBase = (h * HEAD_ROWS + k) * ROW_STRIDE;
#ifdef WEIGHT_F16
    wNext[r] = weight[rowBase + n / 2u];
#else
    wNext[r] = vec2<f32>(weight[rowBase + n], weight[rowBase + min(n + 1u, RKV - 1u)]);
#endif
  }
}

fn stage_slice(lid: u32) {
  for (var r = 0u; r < QP; r++) {
    let e = lid + r * WG;
    let at = (e % KC) * QS + e / KC;
    qTile[at / 4u][at % 4u] = qNext[r];
  }
  for (var r = 0u; r < WP; r++) {
    let e = lid + r * WG;
    let at = (e / (TN / 2u)) * TN + 2u * (e % (TN / 2u)); // even: the pair is .xy or .zw of one vec4
#ifdef WEIGHT_F16
    let w = unpack2x16float(wNext[r]);
#else
    let w = wNext[r];
#endif
    wTile[at / 4u][at % 4u] = w.x;
    wTile[at / 4u][at % 4u + 1u] = w.y;
  }
}

#ifdef APPEND
@group(0) @binding(5) var<storage, read> kva: array<f32>;               // [T, RKV + DR] kv_a_proj_with_mqa output
@group(0) @binding(6) var<storage, read> kvNorm: array<f32>;            // [RKV] kv_a_layernorm
@group(0) @binding(7) var<storage, read_write> latentCache: array<f32>; // [CACHE_ROWS, RKV + DR]

const WIDTH: u32 = RKV + DR;           // one cached token: [c ; kR]
const APPEND_LANES: u32 = 32u;         // threads a row
const APPEND_ROWS: u32 = WG / APPEND_LANES;
const LANE_VALUES: u32 = (RKV + APPEND_LANES - 1u) / APPEND_LANES;

var<workgroup> rowSums: array<f32, WG>; // [APPEND_ROWS][APPEND_LANES] partial sums of squares

// latentCache[p] = [RMSNorm(kva[t, 0:RKV]) ⊙ kvNorm ; ropeAdjacent(kva[t, RKV:], p)] at p = pos0 + t for the
// tile's rows, APPEND_ROWS at a time; this workgroup takes groups first, first + stride, ... Rows whose position
// falls outside the cache are skipped. Uniform control flow (first, stride, nT are the workgroup's).
fn append_rows(t0: u32, nT: u32, lid: u32, first: u32, stride: u32) {
  let lane = lid % APPEND_LANES;
  for (var g = first * APPEND_ROWS; g < nT; g += stride * APPEND_ROWS) {
    let t = t0 + g + lid / APPEND_LANES;
    let pos = step.pos0 + t;
    let live = g + lid / APPEND_LANES < nT && pos < CACHE_ROWS;
    let src = t * WIDTH;
    let dst = pos * WIDTH;
    var v: array<f32, LANE_VALUES>; // loaded together (one at a time, each would wait a memory latency)
    var sum = 0.0;
    if (live) {
      for (var r = 0u; r < LANE_VALUES; r++) { v[r] = kva[src + min(lane + r * APPEND_LANES, RKV - 1u)]; }
      for (var r = 0u; r < LANE_VALUES; r++) { sum += select(0.0, v[r] * v[r], lane + r * APPEND_LANES < RKV); }
    }
    rowSums[lid] = sum;
    workgroupBarrier();
    for (var s = APPEND_LANES / 2u; s > 0u; s /= 2u) {
      if (lane < s) { rowSums[lid] += rowSums[lid + s]; }
      workgroupBarrier();
    }
    let inv = inverseSqrt(rowSums[lid - lane] / f32(RKV) + EPS);
    workgroupBarrier(); // rowSums is rewritten by the next group
    if (live) {
      for (var r = 0u; r < LANE_VALUES; r++) {
        let i = lane + r * APPEND_LANES;
        if (i < RKV) { latentCache[dst + i] = kvNorm[i] * (v[r] * inv); }
      }
      append_key_rope(src, dst, pos, lane, APPEND_LANES);
    }
  }
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t0 = wid.y * TT;
  if (t0 >= step.rows) { return; }
  let nT = min(TT, step.rows - t0);
#ifdef APPEND
  if (h == NH) { // uniform: the append workgroups
    append_rows(t0, nT, lid, wid.z, COL_BLOCKS);
    return;
  }
#endif
  let n0 = wid.z * TN;
  let tx = lid % 32u;
  let ty = lid / 32u;
  var acc: array<vec4<f32>, 4>; // acc[i][j]: row t0 + 4ty + i, column n0 + 4tx + j
  fetch_slice(h, t0, n0, 0u, lid);
  for (var k0 = 0u; k0 < DN; k0 += KC) {
    stage_slice(lid);
    workgroupBarrier();
    if (k0 + KC < DN) { fetch_slice(h, t0, n0, k0 + KC, lid); } // in flight during the products below
    for (var kk = 0u; kk < KC; kk++) {
      let w = wTile[kk * (TN / 4u) + tx];
      let qv = qTile[kk * (QS / 4u) + ty];
      acc[0] += qv.x * w;
      acc[1] += qv.y * w;
      acc[2] += qv.z * w;
      acc[3] += qv.w * w;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let t = t0 + 4u * ty + i;
    if (t < step.rows) {
      for (var j = 0u; j < 4u; j++) {
        let n = n0 + 4u * tx + j;
        if (n < RKV) { qAbs[(t * NH + h) * QABS_WIDTH + n] = acc[i][j]; }
      }
    }
  }
  if (wid.z == 0u) { rotate_query(h, t0, nT, lid); } // the first column block also rotates qR
}
#else
const K: u32 = RKV;                                  // matmul_tile's sum length
const OUT_WIDTH: u32 = NH * DV;
const VALUE_BLOCKS: u32 = (DV + 127u) / 128u;        // blocks of 128 outputs per head

@group(0) @binding(1) var<storage, read> x: array<f32>;          // [T, NH, RKV] ô
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // [T, NH*DV]

var<private> tile_t0: u32;
var<private> tile_h: u32;
var<private> tile_n0: u32;

fn tile_x_base(i: u32) -> u32 {
  let t = tile_t0 + i;
  return select(NO_ROW, (t * NH + tile_h) * RKV, t < step.rows);
}

fn tile_weight_row(c: u32) -> u32 {
  let n = tile_n0 + c;
  return select(NO_ROW, tile_h * HEAD_ROWS + DN + n, n < DV);
}

#include "matmul_tile"

@compute @workgroup_size(MM_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x / VALUE_BLOCKS;
  let n0 = (wid.x % VALUE_BLOCKS) * 128u;
  let t0 = wid.y * TILE_T;
  if (t0 >= step.rows) { return; } // uniform: the whole workgroup leaves together
  tile_t0 = t0;
  tile_h = h;
  tile_n0 = n0;
  matmul_tile(lid, 0u, K);
  let tx = lid % 16u;
  let ty = lid / 16u;
  for (var r = 0u; r < THREAD_T; r++) {
    let t = t0 + THREAD_T * ty + r;
    if (t >= step.rows) { break; }
    let row = t * OUT_WIDTH + h * DV;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + 4u * tx + j;
      if (n < DV) { out[row + n] = acc_a[r][j]; }
      if (n + 64u < DV) { out[row + n + 64u] = acc_b[r][j]; }
    }
  }
}
#endif
