// Greedy next token: the index of the largest logit in the LAST row (t = rows - 1) of the step's logits
// [T, VOCAB]; ties go to the lowest index. One workgroup of WG threads: each scans a strided slice (coalesced),
// then a tree reduction over (value, index) pairs. A NaN logit never wins against a number.
#include "step"

const NONE: u32 = 0xffffffffu;
const BATCH: u32 = 8u;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> logits: array<f32>;       // [T, VOCAB]
@group(0) @binding(2) var<storage, read_write> token: array<u32>;  // [1] chosen token id

var<workgroup> best_value: array<f32, WG>;
var<workgroup> best_index: array<u32, WG>;

// True when candidate (v, i) should replace the current best (bv, bi).
fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  if (i == NONE) { return false; }
  if (bi == NONE) { return true; }
  return v > bv || (v == bv && i < bi) || (bv != bv && v == v);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  if (step.rows == 0u) { return; }
  let row = (step.rows - 1u) * VOCAB;
  var bv = 0.0;
  var bi = NONE;
  // BATCH strided logits' loads at a time (one at a time, each iteration would wait a memory latency: ~90 µs for
  // a 102,400-token vocabulary on an H100), then compared in index order so ties still go to the lowest index.
  for (var i0 = lid; i0 < VOCAB; i0 += BATCH * WG) {
    var v: array<f32, BATCH>;
    for (var q = 0u; q < BATCH; q++) { v[q] = logits[row + min(i0 + q * WG, VOCAB - 1u)]; }
    for (var q = 0u; q < BATCH; q++) {
      let i = i0 + q * WG;
      if (i < VOCAB && better(v[q], i, bv, bi)) { bv = v[q]; bi = i; }
    }
  }
  best_value[lid] = bv;
  best_index[lid] = bi;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride && better(best_value[lid + stride], best_index[lid + stride], best_value[lid], best_index[lid])) {
      best_value[lid] = best_value[lid + stride];
      best_index[lid] = best_index[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) { token[0] = best_index[0]; }
}
