// Greedy next token: the index of the largest logit in the LAST row (t = rows - 1) of the step's logits
// [T, VOCAB]; ties go to the lowest index, a NaN never wins against a number (and among NaNs the lowest index
// wins), so the answer does not depend on the order of the comparisons. One workgroup of WG threads reads the row
// as vec4s (VEC4, VOCAB a multiple of 4; else single logits), thread lid taking units lid + i·WG (coalesced),
// BATCH units' loads in flight at a time; then a two-level reduction over (value, index) pairs: COLS threads each
// reduce a column of WG / COLS candidates, thread 0 the COLS results (two barriers instead of a log2(WG) tree).
#include "step"

const NONE: u32 = 0xffffffffu;
const BATCH: u32 = 8u;
const UNITS: u32 = VOCAB / UNIT; // units per row (UNIT: logits per unit, 4 with VEC4, else 1)
const COLS: u32 = min(WG, 32u);

@group(0) @binding(0) var<uniform> step: Step;
#ifdef VEC4
@group(0) @binding(1) var<storage, read> logits4: array<vec4<f32>>; // [T, VOCAB / 4]
#else
@group(0) @binding(1) var<storage, read> logits: array<f32>;        // [T, VOCAB]
#endif
@group(0) @binding(2) var<storage, read_write> token: array<u32>;   // [1] chosen token id

var<workgroup> best_value: array<f32, WG>;
var<workgroup> best_index: array<u32, WG>;

// NaN by its bits: shader compilers may fold `v != v` to false (SwiftShader does), which let a NaN win.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// True when candidate (v, i) should replace the current best (bv, bi): a total order on (value, index) pairs.
fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  if (i == NONE) { return false; }
  if (bi == NONE) { return true; }
  let v_nan = is_nan(v);
  let b_nan = is_nan(bv);
  if (v_nan != b_nan) { return b_nan; }
  if (v_nan) { return i < bi; }
  return v > bv || (v == bv && i < bi);
}

// Unit j of the row starting at unit `row`; the single logit of a unit in .x without VEC4.
fn load_unit(row: u32, j: u32) -> vec4<f32> {
#ifdef VEC4
  return logits4[row + j];
#else
  return vec4<f32>(logits[row + j], 0.0, 0.0, 0.0);
#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  if (step.rows == 0u) { return; }
  let row = (step.rows - 1u) * UNITS;
  var bv = 0.0;
  var bi = NONE;
  // BATCH loads at a time (one at a time, each would wait a memory latency), compared in index order.
  for (var j0 = lid; j0 < UNITS; j0 += BATCH * WG) {
    var v: array<vec4<f32>, BATCH>;
    for (var q = 0u; q < BATCH; q++) { v[q] = load_unit(row, min(j0 + q * WG, UNITS - 1u)); }
    for (var q = 0u; q < BATCH; q++) {
      let j = j0 + q * WG;
      for (var c = 0u; c < UNIT; c++) {
        if (j < UNITS && better(v[q][c], j * UNIT + c, bv, bi)) { bv = v[q][c]; bi = j * UNIT + c; }
      }
    }
  }
  best_value[lid] = bv;
  best_index[lid] = bi;
  workgroupBarrier();
  if (lid < COLS) {
    for (var r = 1u; r < WG / COLS; r++) {
      let k = r * COLS + lid;
      if (better(best_value[k], best_index[k], bv, bi)) { bv = best_value[k]; bi = best_index[k]; }
    }
    best_value[lid] = bv;
    best_index[lid] = bi;
  }
  workgroupBarrier();
  if (lid == 0u) {
    for (var k = 1u; k < COLS; k++) {
      if (better(best_value[k], best_index[k], bv, bi)) { bv = best_value[k]; bi = best_index[k]; }
    }
    token[0] = bi;
  }
}
