// Register-tiled product core for steps of many token rows: linear.wgsl's matmul (prefill projections) and
// experts_grouped.wgsl (routed experts, tokens grouped by expert). A workgroup of MM_WG = 4 * TILE_T threads computes
// a TILE_T-row x 128-column block of x·Wᵀ, where block column c is weight row tile_weight_row(c) (the includer's map:
// a plain projection's 128 consecutive outputs; SwiGLU's 64 gate rows, then the 64 matching up rows). Thread
// (ty, tx) = (lid / 16, lid % 16) owns rows 4ty .. 4ty + 3 and columns 4tx .. 4tx + 3 (acc_a) and 64 + 4tx ..
// 64 + 4tx + 3 (acc_b): per K step one vec4 of x and two vec4 of W from shared memory feed 32 FMAs, and a warp's
// vec4 reads are consecutive (no bank conflicts). K is staged MM_K = 16 at a time: x as [16][TILE_T + 4] (padded so
// the loader's writes spread over banks) and W as [16][128] f32, dequantised once per workgroup when staged
// (12.5 KiB of workgroup memory at TILE_T = 64, under SwiftShader's 16 KiB; MM_WG <= 256 invocations).
// The includer declares `x: array<f32>` and `weight` (f32, or u32 words: common/weights.wgsl, included before), the
// constants K, TILE_T (16, 32 or 64) and the format defines, and, before including this file:
//   fn tile_x_base(i: u32) -> u32      offset in x of tile row i's K values, or NO_ROW (a row past the tile: zeros)
//   fn tile_weight_row(c: u32) -> u32  weight row of block column c, or NO_ROW (past the outputs: zeros)
// Call matmul_tile from uniform control flow (k_begin, k_end uniform); acc_a / acc_b then hold the block, to be stored by the includer.
// Any K: the last slice's elements past K are zero, and a partial last word is read element by element.

const NO_ROW: u32 = 0xffffffffu;
const MM_K: u32 = 16u;
const MM_WG: u32 = 4u * TILE_T;
const MM_XS: u32 = TILE_T + 4u;            // x_tile row stride (floats), a multiple of 4
#ifdef WEIGHT_Q4
const MM_UNIT: u32 = 8u;                   // K elements one loader step reads from a weight row (one q4 word)
#else
const MM_UNIT: u32 = 4u;                   // (f32: 4 floats, f16: 2 words, q8: 1 word)
#endif
const MM_UNITS: u32 = 128u * (MM_K / MM_UNIT);

var<workgroup> x_tile: array<vec4<f32>, MM_K * MM_XS / 4u>;   // [MM_K][MM_XS] x, k-major
var<workgroup> w_tile: array<vec4<f32>, MM_K * 32u>;          // [MM_K][128] W, k-major

var<private> acc_a: array<vec4<f32>, 4>;
var<private> acc_b: array<vec4<f32>, 4>;

fn x_tile_set(kk: u32, i: u32, v: f32) {
  let at = kk * MM_XS + i;
  x_tile[at / 4u][at % 4u] = v;
}

fn w_tile_set(kk: u32, c: u32, v: f32) {
  w_tile[kk * 32u + c / 4u][c % 4u] = v;
}

fn load_x_slice(k0: u32, lid: u32) {
  for (var e = lid; e < TILE_T * MM_K; e += MM_WG) {
    let i = e / MM_K;
    let kk = e % MM_K;
    let base = tile_x_base(i);
    var v = 0.0;
    if (base != NO_ROW && k0 + kk < K) { v = x[base + k0 + kk]; }
    x_tile_set(kk, i, v);
  }
}

// Elements k .. k + 3 (k a multiple of 4) of weight row `row`, whole (k + 4 <= K).
fn weight_quad(row: u32, k: u32) -> vec4<f32> {
  let rb = row * ROW_STRIDE;
#ifdef WEIGHT_F16
  return vec4<f32>(unpack2x16float(weight[rb + k / 2u]), unpack2x16float(weight[rb + k / 2u + 1u]));
#else
#ifdef WEIGHT_Q8
  return q8_codes(weight[rb + k / 4u]) * weight_group_scale(&weight, row, k / GROUP);
#else
#ifdef WEIGHT_Q4
  return vec4<f32>(0.0); // unused: q4 reads whole words (weight_octet)
#else
  return vec4<f32>(weight[rb + k], weight[rb + k + 1u], weight[rb + k + 2u], weight[rb + k + 3u]);
#endif
#endif
#endif
}

fn load_w_slice(k0: u32, lid: u32) {
  for (var e = lid; e < MM_UNITS; e += MM_WG) {
    let c = e % 128u;
    let kk = (e / 128u) * MM_UNIT;
    let k = k0 + kk;
    let row = tile_weight_row(c);
    var lo = vec4<f32>(0.0);
#ifdef WEIGHT_Q4
    var hi = vec4<f32>(0.0);
#endif
    if (row != NO_ROW && k < K) {
      if (k + MM_UNIT <= K) {
#ifdef WEIGHT_Q4
        let word = weight[row * ROW_STRIDE + k / 8u];
        let scale = weight_group_scale(&weight, row, k / GROUP);
        lo = q4_codes(word, 0u) * scale;
        hi = q4_codes(word, 1u) * scale;
#else
        lo = weight_quad(row, k);
#endif
      } else {
        // The row's last, partial unit: element by element up to K.
        let rb = row * ROW_STRIDE;
        for (var q = 0u; q < 4u; q++) {
          if (k + q < K) { lo[q] = weight_element(&weight, rb, k + q); }
#ifdef WEIGHT_Q4
          if (k + 4u + q < K) { hi[q] = weight_element(&weight, rb, k + 4u + q); }
#endif
        }
      }
    }
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
  for (var r = 0u; r < 4u; r++) {
    acc_a[r] = vec4<f32>(0.0);
    acc_b[r] = vec4<f32>(0.0);
  }
  for (var k0 = k_begin; k0 < k_end; k0 += MM_K) {
    load_x_slice(k0, lid);
    load_w_slice(k0, lid);
    workgroupBarrier();
    for (var kk = 0u; kk < MM_K; kk++) {
      let xv = x_tile[(kk * MM_XS) / 4u + ty];
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
    }
    workgroupBarrier();
  }
}
