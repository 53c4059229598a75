// Sums of each row's LANES per-lane partials for the packed matrix-vector kernels. A workgroup of WG threads is
// (WG / LANES) slots x LANES lanes, thread lid = slot * LANES + lane; each thread holds ROWS_PER_THREAD * SUMS
// partials (SUMS = 2 for gate + up). lane_partials[(v * WG) + lid] holds value v of thread lid; a tree over the
// lanes leaves each total at lane 0. Call from uniform control flow (every thread of the workgroup).
// Without SHARED_REDUCE (LANES == 1: one thread per row, the CPU layout) nothing here is compiled.
#ifdef SHARED_REDUCE
var<workgroup> lane_partials: array<f32, WG * ROWS_PER_THREAD * SUMS>;

fn reduce_lanes(lid: u32, lane: u32) {
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      for (var v = 0u; v < ROWS_PER_THREAD * SUMS; v++) {
        lane_partials[v * WG + lid] += lane_partials[v * WG + lid + stride];
      }
    }
    workgroupBarrier();
  }
}
#endif
