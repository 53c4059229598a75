// Sums of each row's LANES per-lane partials for the packed matrix-vector kernels. A workgroup of WG threads is
// (WG / LANES) slots x LANES lanes, thread lid = slot * LANES + lane; each thread holds ROWS_PER_THREAD partials in
// `gate` (and as many in `up` when SUMS = 2, gate + up). sum_lanes leaves each row's totals at its lane 0 (with
// subgroups at every lane). Call from uniform control flow (every thread of the workgroup).
//   SUBGROUPS with LANES <= SUBGROUP_MIN (a row's lanes inside one subgroup, engine/gpu/subgroups.ts): a butterfly
//   of subgroupShuffleXor, no workgroup memory and no barrier.
//   Otherwise: lane_partials[(v * WG) + lid] holds value v of thread lid; a tree over the lanes, a barrier a level.
// Without SHARED_REDUCE (LANES == 1: one thread per row, the CPU layout) nothing here is compiled.
#ifdef SHARED_REDUCE
var<workgroup> lane_partials: array<f32, WG * ROWS_PER_THREAD * SUMS>;

fn sum_lanes(lid: u32, lane: u32, gate: ptr<function, array<f32, ROWS_PER_THREAD>>, up: ptr<function, array<f32, ROWS_PER_THREAD>>) {
#ifdef SUBGROUPS
  if (LANES <= SUBGROUP_MIN) {
    for (var r = 0u; r < ROWS_PER_THREAD; r++) {
      for (var mask = LANES / 2u; mask > 0u; mask /= 2u) {
        (*gate)[r] += subgroupShuffleXor((*gate)[r], mask);
        if (SUMS == 2u) { (*up)[r] += subgroupShuffleXor((*up)[r], mask); }
      }
    }
    return;
  }
#endif
  for (var r = 0u; r < ROWS_PER_THREAD; r++) {
    lane_partials[r * SUMS * WG + lid] = (*gate)[r];
    if (SUMS == 2u) { lane_partials[(r * SUMS + 1u) * WG + lid] = (*up)[r]; }
  }
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      for (var v = 0u; v < ROWS_PER_THREAD * SUMS; v++) {
        lane_partials[v * WG + lid] += lane_partials[v * WG + lid + stride];
      }
    }
    workgroupBarrier();
  }
  if (lane != 0u) { return; } // only lane 0 holds its row's totals, and only it writes them
  for (var r = 0u; r < ROWS_PER_THREAD; r++) {
    (*gate)[r] = lane_partials[r * SUMS * WG + lid];
    if (SUMS == 2u) { (*up)[r] = lane_partials[(r * SUMS + 1u) * WG + lid]; }
  }
}
#endif
