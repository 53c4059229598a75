// Merges the key shares the heads-sharing MLA attention wrote (mla_attention_heads.wgsl, common/mla_shares.wgsl)
// into ô [T, NH, RKV]: M = max m_z, ô = Σ_z e^(m_z − M) acc_z / Σ_z e^(m_z − M) l_z (0 with no visible key).
// Two layouts: FEW_SHARES (prefill's few shares a row) a thread per ô value; otherwise (decode's many shares) a
// workgroup per (head, row, COMBINE_DIMS dims) with tree reductions over the shares.
#include "step"

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> partials: array<f32>;          // [T, NH, SPLITS, RKV + 2]
@group(0) @binding(2) var<storage, read_write> attnLatent: array<f32>;  // [T, NH, RKV] ô
#ifdef SELECTION
@group(0) @binding(3) var<storage, read> counts: array<u32>;            // [T]
#endif

#include "mla_keys"
#include "mla_shares"

#ifdef FEW_SHARES
// Rows of at most SPLITS (a few) shares — prefill chunks: a thread per ô value merges its row's shares in
// registers, no barriers; workgroup (dim block, h, t). (The tree-reducing `combine` below serves decode's many
// shares; on a 256-row chunk it ran 65,536 workgroups of barrier steps, ~270 µs a layer on an H100.)
@compute @workgroup_size(WG)
fn combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let d = wid.x * WG + lid;
  let h = wid.y;
  let t = wid.z;
  if (t >= step.rows || d >= RKV) { return; }
  let shares = share_count(key_count(t));
  let base = (t * NH + h) * SPLITS * SHARE;
  var m: array<f32, SPLITS>;
  var l: array<f32, SPLITS>;
  var v: array<f32, SPLITS>;
  var top = NEG_BIG;
  for (var z = 0u; z < SPLITS; z++) {
    let at = base + min(z, shares - 1u) * SHARE;
    m[z] = partials[at + RKV];
    l[z] = partials[at + RKV + 1u];
    v[z] = partials[at + d];
  }
  for (var z = 0u; z < SPLITS; z++) { if (z < shares) { top = max(top, m[z]); } }
  var total = 0.0;
  var sum = 0.0;
  for (var z = 0u; z < SPLITS; z++) {
    if (z < shares) {
      let w = exp(m[z] - top);
      total += w * l[z];
      sum += w * v[z];
    }
  }
  attnLatent[(t * NH + h) * RKV + d] = select(0.0, sum / total, total > 0.0);
}
#else
#include "workgroup_sum"
#include "mla_share_weights"
var<workgroup> shareWeight: array<f32, SPLITS>; // m_z, then e^(m_z − M)
var<workgroup> shareSum: array<f32, SPLITS>;    // l_z
var<workgroup> laneSum: array<f32, WG>;         // [share lane][dim] partial sums
const SHARE_LANES: u32 = WG / COMBINE_DIMS;      // threads splitting one dim's shares
const UNROLL: u32 = 8u;                          // shares whose loads a thread issues together

@compute @workgroup_size(WG)
fn combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  if (t >= step.rows) { return; }
  let shares = share_count(key_count(t));
  let base = (t * NH + h) * SPLITS * SHARE;
  // The shares' m and l through workgroup memory (a thread walking them all would wait on each load in turn).
  for (var z = lid; z < shares; z += WG) {
    shareWeight[z] = partials[base + z * SHARE + RKV];
    shareSum[z] = partials[base + z * SHARE + RKV + 1u];
  }
  workgroupBarrier();
  let inv = share_weights(shares, lid);
  // Workgroup (h, t, b) writes dims b·COMBINE_DIMS ..: thread (share lane sl, dim dl) sums shares sl, sl +
  // SHARE_LANES, … of dim dl (consecutive threads read consecutive dims), then the lanes' sums are added.
  let dl = lid % COMBINE_DIMS;
  let sl = lid / COMBINE_DIMS;
  let d = wid.z * COMBINE_DIMS + dl;
  let dRead = min(d, RKV - 1u);
  var sum = 0.0;
  for (var z0 = sl; z0 < shares; z0 += UNROLL * SHARE_LANES) {
    var v: array<f32, UNROLL>;
    for (var q = 0u; q < UNROLL; q++) { v[q] = partials[base + min(z0 + q * SHARE_LANES, shares - 1u) * SHARE + dRead]; }
    for (var q = 0u; q < UNROLL; q++) {
      let z = z0 + q * SHARE_LANES;
      sum += select(0.0, shareWeight[min(z, shares - 1u)] * v[q], z < shares);
    }
  }
  laneSum[lid] = sum;
  workgroupBarrier();
  if (sl == 0u && d < RKV) {
    var all = 0.0;
    for (var l = 0u; l < SHARE_LANES; l++) { all += laneSum[l * COMBINE_DIMS + dl]; }
    attnLatent[(t * NH + h) * RKV + d] = all * inv;
  }
}
#endif
