// The weights with which a combine merges a row's key shares (common/mla_shares.wgsl), for kernels that hold the
// shares' running maxima m_z in `shareWeight` and sums l_z in `shareSum` (workgroup arrays of SPLITS that the
// includer declares and fills for z < shares, then a barrier): shareWeight[z] becomes e^(m_z − M), M = max_z m_z,
// and the result is 1 / Σ_z e^(m_z − M) l_z (0 when the row sees no key). Both are tree reductions over the
// workgroup (a loop over up to SPLITS shares per thread was several µs). Call from uniform control flow.
// Include after "mla_shares" and "workgroup_sum".

fn share_weights(shares: u32, lid: u32) -> f32 {
  var top = NEG_BIG;
  for (var z = lid; z < shares; z += WG) { top = max(top, shareWeight[z]); }
  top = workgroup_max(lid, top);
  for (var z = lid; z < shares; z += WG) { shareWeight[z] = exp(shareWeight[z] - top); }
  workgroupBarrier();
  var part = 0.0;
  for (var z = lid; z < shares; z += WG) { part += shareWeight[z] * shareSum[z]; }
  let total = workgroup_sum(lid, part);
  return select(0.0, 1.0 / total, total > 0.0);
}
