// Register-tiled product core for steps of many token rows: linear.wgsl's matmul (prefill projections) and
// experts_grouped.wgsl (routed experts, tokens grouped by expert). A workgroup of MM_WG = 16 · TILE_T / THREAD_T
// threads computes a TILE_T-row x 128-column block of x·Wᵀ, where block column c is weight row tile_weight_row(c) (the
// includer's map: a plain projection's 128 consecutive outputs; SwiGLU's 64 gate rows, then the 64 matching up rows).
// Thread (ty, tx) = (lid / 16, lid % 16) owns rows THREAD_T·ty .. THREAD_T·ty + THREAD_T - 1 (THREAD_T = 4, or 8
// with THREAD_T8) and columns 4tx .. 4tx + 3 (acc_a) and 64 + 4tx .. 64 + 4tx + 3 (acc_b): per K step one (two)
// vec4 of x and two vec4 of W from shared memory feed 32 (64) FMAs, and a warp's W reads are consecutive vec4s (no
// bank conflicts). K is staged MM_K = 16 at a time: x as [16][TILE_T + 4] (padded so
// the loader's writes spread over banks) and W as [16][128] f32, dequantised once per workgroup when staged
// (12.5 KiB of workgroup memory at TILE_T = 64, under SwiftShader's 16 KiB; MM_WG <= 256 invocations).
// The includer declares `x: array<f32>` and `weight` (f32, or u32 words: common/weights.wgsl, included before), the
// constants K, TILE_T (16, 32 or 64), THREAD_T (4, or 8 with THREAD_T8) and the format defines, and, before including this file:
//   fn tile_x_base(i: u32) -> u32      offset in x of tile row i's K values, or NO_ROW (a row past the tile: zeros)
//   fn tile_weight_row(c: u32) -> u32  weight row of block column c, or NO_ROW (past the outputs: zeros)
// Call matmul_tile from uniform control flow (k_begin, k_end uniform); acc_a / acc_b then hold the block, to be stored by the includer.
// Any K: the elements past K in the last slice are zeroed when staged. The next slice's loads are issued before the
// current slice's products and converted after them (fetch_slice / stage_slice), hiding global memory latency.

const NO_ROW: u32 = 0xffffffffu;
const MM_K: u32 = 16u;
const MM_WG: u32 = 16u * TILE_T / THREAD_T;
const MM_XS: u32 = TILE_T + 4u;            // x_tile row stride (floats), a multiple of 4
#ifdef WEIGHT_Q4
const MM_UNIT: u32 = 8u;                   // K elements one loader step reads from a weight row (one q4 word)
#else
const MM_UNIT: u32 = 4u;                   // (f32: 4 floats, f16: 2 words, q8: 1 word)
#endif
const MM_UNITS: u32 = 128u * (MM_K / MM_UNIT);

var<workgroup> x_tile: array<vec4<f32>, MM_K * MM_XS / 4u>;   // [MM_K][MM_XS] x, k-major
var<workgroup> w_tile: array<vec4<f32>, MM_K * 32u>;          // [MM_K][128] W, k-major

var<private> acc_a: array<vec4<f32>, THREAD_T>;
var<private> acc_b: array<vec4<f32>, THREAD_T>;

const MM_XP: u32 = TILE_T * MM_K / MM_WG;  // x values a thread stages per slice (THREAD_T)
const MM_WP: u32 = MM_UNITS / MM_WG;        // weight units a thread stages per slice

// The next slice as loaded, not yet converted: fetch_slice issues the loads before the current slice's products
// and stage_slice converts and stores them after, so global memory latency overlaps the arithmetic.
var<private> x_next: array<f32, MM_XP>;
var<private> w_next: array<vec4<u32>, MM_WP>;  // per unit: q4/q8 (word, scale word, 0, 0); f16 (two words); f32 bits

fn fetch_slice(k0: u32, lid: u32) {
  for (var r = 0u; r < MM_XP; r++) {
    let e = lid + r * MM_WG;
    let base = tile_x_base(e / MM_K);
    let k = k0 + e % MM_K;
    var v = 0.0;
    if (base != NO_ROW && k < K) { v = x[base + k]; }
    x_next[r] = v;
  }
  for (var r = 0u; r < MM_WP; r++) {
    let e = lid + r * MM_WG;
    let row = tile_weight_row(e % 128u);
    let k = k0 + (e / 128u) * MM_UNIT;
    var raw = vec4<u32>(0u);
    if (row != NO_ROW && k < K) {
      // A unit past K's last word reads the next row's words (or clamps at the buffer's end); stage_slice zeroes
      // the elements past K, so any value will do.
      let rb = row * ROW_STRIDE;
#ifdef WEIGHT_QUANTISED
      raw = vec4<u32>(weight[rb + k / MM_UNIT], weight[SCALE_OFFSET + row * SCALE_ROW_STRIDE + k / GROUP / 2u], 0u, 0u);
#else
#ifdef WEIGHT_F16
      raw = vec4<u32>(weight[rb + k / 2u], weight[rb + k / 2u + 1u], 0u, 0u);
#else
      raw = bitcast<vec4<u32>>(vec4<f32>(weight[rb + k], weight[rb + k + 1u], weight[rb + k + 2u], weight[rb + k + 3u]));
#endif
#endif
    }
    w_next[r] = raw;
  }
}

fn x_tile_set(kk: u32, i: u32, v: f32) {
  let at = kk * MM_XS + i;
  x_tile[at / 4u][at % 4u] = v;
}

fn w_tile_set(kk: u32, c: u32, v: f32) {
  w_tile[kk * 32u + c / 4u][c % 4u] = v;
}

// Zero where element k + i is past K.
fn mask_k(v: vec4<f32>, k: u32) -> vec4<f32> {
  return select(vec4<f32>(0.0), v, vec4<u32>(k) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(K));
}

fn stage_slice(k0: u32, lid: u32) {
  for (var r = 0u; r < MM_XP; r++) {
    let e = lid + r * MM_WG;
    x_tile_set(e % MM_K, e / MM_K, x_next[r]);
  }
  for (var r = 0u; r < MM_WP; r++) {
    let e = lid + r * MM_WG;
    let c = e % 128u;
    let kk = (e / 128u) * MM_UNIT;
    let k = k0 + kk;
    let raw = w_next[r];
#ifdef WEIGHT_QUANTISED
    let g = k / GROUP;
    let scale = unpack2x16float(raw.y)[g & 1u];
#ifdef WEIGHT_Q4
    let lo = mask_k(q4_codes(raw.x, 0u) * scale, k);
    let hi = mask_k(q4_codes(raw.x, 1u) * scale, k + 4u);
#else
    let lo = mask_k(q8_codes(raw.x) * scale, k);
#endif
#else
#ifdef WEIGHT_F16
    let lo = mask_k(vec4<f32>(unpack2x16float(raw.x), unpack2x16float(raw.y)), k);
#else
    let lo = mask_k(bitcast<vec4<f32>>(raw), k);
#endif
#endif
    for (var q = 0u; q < 4u; q++) {
      w_tile_set(kk + q, c, lo[q]);
#ifdef WEIGHT_Q4
      w_tile_set(kk + 4u + q, c, hi[q]);
#endif
    }
  }
}

// The block's sums over K elements [k_begin, k_end) (k_begin a multiple of MM_K; k_end <= K, a multiple of MM_K
// unless it is K).
fn matmul_tile(lid: u32, k_begin: u32, k_end: u32) {
  let tx = lid % 16u;
  let ty = lid / 16u;
  for (var r = 0u; r < THREAD_T; r++) {
    acc_a[r] = vec4<f32>(0.0);
    acc_b[r] = vec4<f32>(0.0);
  }
  fetch_slice(k_begin, lid);
  for (var k0 = k_begin; k0 < k_end; k0 += MM_K) {
    stage_slice(k0, lid);
    workgroupBarrier();
    if (k0 + MM_K < k_end) { fetch_slice(k0 + MM_K, lid); } // in flight during the products below
    for (var kk = 0u; kk < MM_K; kk++) {
      let x_at = (kk * MM_XS) / 4u + ty * (THREAD_T / 4u);
      let xv = x_tile[x_at];
      let wa = w_tile[kk * 32u + tx];
      let wb = w_tile[kk * 32u + 16u + tx];
      acc_a[0] += xv.x * wa;
      acc_a[1] += xv.y * wa;
      acc_a[2] += xv.z * wa;
      acc_a[3] += xv.w * wa;
      acc_b[0] += xv.x * wb;
      acc_b[1] += xv.y * wb;
      acc_b[2] += xv.z * wb;
      acc_b[3] += xv.w * wb;
#ifdef THREAD_T8
      let xw = x_tile[x_at + 1u];
      acc_a[4] += xw.x * wa;
      acc_a[5] += xw.y * wa;
      acc_a[6] += xw.z * wa;
      acc_a[7] += xw.w * wa;
      acc_b[4] += xw.x * wb;
      acc_b[5] += xw.y * wb;
      acc_b[6] += xw.z * wb;
      acc_b[7] += xw.w * wb;
#endif
    }
    workgroupBarrier();
  }
}
