// RMSNorm over rows of width DIM: out[t] = weight * x[t] / sqrt(mean(x[t]^2) + EPS). (The residual adds happen in the
// projections that end each block, and decode steps run most norms inside their consumers: common/input_norm.wgsl.)
// Bindings carry logical shapes; one workgroup of WG threads per row, ROW_STRIDE elements between input rows
// (lets the kv_a output [T, rKV + dR] be normalised over its first rKV columns only when used via mla_kv).
// LAST_ROW: one workgroup normalises only the step's last row (t = rows - 1; the final norm before last-row logits).
#include "step"
#include "workgroup_sum"

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> hidden: array<f32>;         // [T, ROW_STRIDE] input (residual stream)
@group(0) @binding(2) var<storage, read> weight: array<f32>;         // [DIM]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;      // [T, DIM]

const PER: u32 = (DIM + WG - 1u) / WG; // elements per thread

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
#ifdef LAST_ROW
  let t = step.rows - 1u; // rows == 0 wraps to 0xffffffff and returns below
#else
  let t = wid.x;
#endif
  if (t >= step.rows) { return; }
  let base = t * ROW_STRIDE;
  // A thread's PER elements are loaded together (a loop waiting on each load in turn costs a memory latency each).
  var v: array<f32, PER>;
  var sum = 0.0;
  for (var r = 0u; r < PER; r++) {
    let i = min(lid + r * WG, DIM - 1u);
    v[r] = hidden[base + i];
  }
  for (var r = 0u; r < PER; r++) { sum += select(0.0, v[r] * v[r], lid + r * WG < DIM); }
  let inv = inverseSqrt(workgroup_sum(lid, sum) / f32(DIM) + EPS);
  for (var r = 0u; r < PER; r++) {
    let i = lid + r * WG;
    if (i < DIM) { out[t * DIM + i] = weight[i] * (v[r] * inv); }
  }
}
