// Sum (and max) of one f32 per invocation across a workgroup of WG threads (WG a power of two), returned to every
// invocation. Call from uniform control flow; the scratch array may be reused right after it returns.
// With SUBGROUPS (engine/gpu/subgroups.ts): each subgroup reduces by subgroup operations, its first invocation
// leaves the result at its own index (subgroups start at multiples of SUBGROUP_MIN), and every invocation reads
// those WG / SUBGROUP_MIN slots after one barrier (zeros where a larger subgroup covers a slot's place): two barriers
// in all. Without: a tree through workgroup memory, a barrier a level.

var<workgroup> partial: array<f32, WG>;

#ifdef SUBGROUPS
const SUBGROUP_SLOTS: u32 = max(1u, WG / SUBGROUP_MIN);

fn workgroup_sum(lid: u32, value: f32) -> f32 {
  let part = subgroupAdd(value);
  let first = subgroupElect();
  if (lid % SUBGROUP_MIN == 0u) { partial[lid / SUBGROUP_MIN] = select(0.0, part, first); }
  workgroupBarrier();
  var total = partial[0];
  for (var s = 1u; s < SUBGROUP_SLOTS; s++) { total += partial[s]; }
  workgroupBarrier(); // partial is reused by the next call
  return total;
}

fn workgroup_max(lid: u32, value: f32) -> f32 {
  let part = subgroupMax(value);
  // A slot a larger subgroup covers repeats that subgroup's max: harmless for a max.
  if (lid % SUBGROUP_MIN == 0u) { partial[lid / SUBGROUP_MIN] = part; }
  workgroupBarrier();
  var result = partial[0];
  for (var s = 1u; s < SUBGROUP_SLOTS; s++) { result = max(result, partial[s]); }
  workgroupBarrier();
  return result;
}
#else
fn workgroup_sum(lid: u32, value: f32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier(); // partial is reused by the next call
  return total;
}

// The workgroup's max of one f32 per invocation, returned to every invocation (same scratch, same rules).
fn workgroup_max(lid: u32, value: f32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] = max(partial[lid], partial[lid + stride]); }
    workgroupBarrier();
  }
  let result = partial[0];
  workgroupBarrier();
  return result;
}
#endif
