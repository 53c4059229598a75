// DSA indexer key append in a dispatch of its own (deepseek-math.md §6.1 steps 2–3): one workgroup of WG threads
// (a power of two) per token row t of this step caches its key at position pos0 + t (common/indexer_key_row.wgsl).
// Decode steps on GPUs run the same row function inside the query absorption's dispatch instead (mla_absorb.wgsl).
// No variants.
#include "step"
#include "workgroup_sum"

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> ropeTable: array<f32>; // [positions, DR/2, 2] (cos, sin)
#include "indexer_key_row"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  if (t >= step.rows) { return; }
  indexer_key_row(t, lid);
}
