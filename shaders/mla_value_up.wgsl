// Value up-projection of weight-absorbed MLA (deepseek-math.md §3.3), per token row t and head h, with W_UV_h the
// rows [h(DN+DV) + DN, (h+1)(DN+DV)) of kv_b_proj:   out[t, h*DV + i] = Σ_j W_UV_h[i, j] · ô[t,h,j]
// Variants (booleans): WEIGHT_F16 (kvB stored as f16 pairs, see common/weights.wgsl) and
//   default — ô is read whole from attnLatent [T, NH, RKV].
//   SHARES  — ô is merged here from the attention's split shares, partials [T, NH, SPLITS, RKV + 2] (acc, m, l per
//             share), as one more online-softmax step: M = max m_z, ô = Σ_z e^(m_z − M) acc_z / Σ_z e^(m_z − M) l_z,
//             0 with no visible key. Shares used: all SPLITS (mla_attention.wgsl writes every one, empty ones with
//             m = −big, l = 0), or with HEAD_SHARES the share_count(key_count(t)) of at least MIN_KEYS keys that
//             mla_attention_heads.wgsl writes (SELECTION: counted from the DSA selection in sparse steps).
// Layout: workgroup (head h, block of ROWS rows of W_UV_h; tile of TT token rows). It first puts the tile's ô of
// head h into workgroup memory (merging the shares once per workgroup, so the merge is shared by ROWS outputs),
// then LANES = WG/ROWS threads per output row stride over its column pairs, BATCH pairs' weight loads in flight at
// once (issued before the merge, so they wait behind it, not after it), and a workgroup-memory reduction.
#include "step"
#include "weights"

const HEAD_ROWS: u32 = DN + DV;       // rows of kv_b_proj per head
const PAIRS: u32 = (RKV + 1u) / 2u;   // column pairs of a kv_b_proj row (the last one half-empty when RKV is odd)
const LANES: u32 = WG / ROWS;
const BLOCKS: u32 = (DV + ROWS - 1u) / ROWS; // workgroups per head and token tile
const OUT_WIDTH: u32 = NH * DV;

@group(0) @binding(0) var<uniform> step: Step;
#ifdef SHARES
@group(0) @binding(1) var<storage, read> partials: array<f32>;     // [T, NH, SPLITS, RKV + 2] acc, m, l
#else
@group(0) @binding(1) var<storage, read> attnLatent: array<f32>;   // [T, NH, RKV] ô
#endif
#ifdef WEIGHT_F16
@group(0) @binding(2) var<storage, read> kvB: array<u32>;          // [NH*(DN+DV), ceil(RKV/2)] f16 pairs
#else
@group(0) @binding(2) var<storage, read> kvB: array<f32>;          // [NH*(DN+DV), RKV]
#endif
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // [T, NH*DV]
#ifdef SELECTION
@group(0) @binding(4) var<storage, read> counts: array<u32>;       // [T] valid entries of each DSA selection row
#endif

var<workgroup> latent: array<f32, TT * RKV>;  // ô of the tile's rows for head h
var<workgroup> partial: array<f32, TT * WG>;  // per-thread partial sums (the share merge's reductions first)

#ifdef SHARES
const SHARE: u32 = RKV + 2u;
const NEG_BIG: f32 = -3.0e38;              // the attention's "no key yet"
const ROW_LANES: u32 = WG / TT;            // threads reducing one row's share maxima and sums
const UNROLL: u32 = 16u;                   // shares whose loads a thread issues together

var<workgroup> shareWeight: array<f32, TT * SPLITS>; // e^(m_z − M) per row and share
var<workgroup> rowInv: array<f32, TT>;               // 1 / Σ_z e^(m_z − M) l_z, 0 with no visible key

#ifdef HEAD_SHARES
#include "mla_keys"
#endif

// Shares row t's attention wrote (mla_attention_heads.wgsl share_count, or all of them).
fn share_count(t: u32) -> u32 {
#ifdef HEAD_SHARES
  return clamp((key_count(t) + MIN_KEYS - 1u) / MIN_KEYS, 1u, SPLITS);
#else
  return SPLITS;
#endif
}

// Max (takeMax) or sum of one value per thread over each row's ROW_LANES threads, returned to all of them.
fn reduce_row(lid: u32, value: f32, takeMax: bool) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  let lane = lid % ROW_LANES;
  for (var stride = ROW_LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      let a = partial[lid];
      let b = partial[lid + stride];
      partial[lid] = select(a + b, max(a, b), takeMax);
    }
    workgroupBarrier();
  }
  let result = partial[lid - lane];
  workgroupBarrier();
  return result;
}

// latent[tt, :] = ô[t0 + tt, h] merged from the row's shares, for tt < nT.
fn merge_shares(t0: u32, nT: u32, h: u32, lid: u32) {
  let tt = lid / ROW_LANES;
  let lane = lid % ROW_LANES;
  var shares = 0u;
  if (tt < nT) { shares = share_count(t0 + tt); }
  let base = ((t0 + tt) * NH + h) * SPLITS * SHARE;
  var top = NEG_BIG;
  for (var z = lane; z < shares; z += ROW_LANES) { top = max(top, partials[base + z * SHARE + RKV]); }
  top = reduce_row(lid, top, true);
  var total = 0.0;
  for (var z = lane; z < shares; z += ROW_LANES) {
    let weight = exp(partials[base + z * SHARE + RKV] - top);
    shareWeight[tt * SPLITS + z] = weight;
    total += weight * partials[base + z * SHARE + RKV + 1u];
  }
  total = reduce_row(lid, total, false); // its barriers also publish shareWeight
  if (lane == 0u) { rowInv[tt] = select(0.0, 1.0 / total, total > 0.0); }
  workgroupBarrier();
  // Consecutive threads take consecutive dims of a share row (coalesced), UNROLL shares' loads at a time.
  for (var i = lid; i < nT * RKV; i += WG) {
    let r = i / RKV;
    let n = share_count(t0 + r);
    let dimBase = ((t0 + r) * NH + h) * SPLITS * SHARE + i % RKV;
    var sum = 0.0;
    for (var z0 = 0u; z0 < n; z0 += UNROLL) {
      var v: array<f32, UNROLL>;
      for (var q = 0u; q < UNROLL; q++) { v[q] = partials[dimBase + min(z0 + q, n - 1u) * SHARE]; }
      for (var q = 0u; q < UNROLL; q++) {
        let z = z0 + q;
        if (z < n) { sum += shareWeight[r * SPLITS + z] * v[q]; }
      }
    }
    latent[i] = sum * rowInv[r];
  }
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t0 = wid.y * TT;
  if (t0 >= step.rows) { return; }
  let nT = min(TT, step.rows - t0);
  let h = wid.x / BLOCKS;
  let lane = lid % LANES;
  let i = (wid.x % BLOCKS) * ROWS + lid / LANES; // row of W_UV_h
  let rowBase = (h * HEAD_ROWS + DN + min(i, DV - 1u)) * ROW_STRIDE;

  var w: array<vec2<f32>, BATCH>;
  for (var q = 0u; q < BATCH; q++) { w[q] = weight_pair(&kvB, rowBase, 2u * min(lane + q * LANES, PAIRS - 1u)); }
#ifdef SHARES
  merge_shares(t0, nT, h, lid);
#else
  for (var k = lid; k < nT * RKV; k += WG) { latent[k] = attnLatent[((t0 + k / RKV) * NH + h) * RKV + k % RKV]; }
#endif
  workgroupBarrier();

  var acc: array<f32, TT>;
  for (var p0 = lane; p0 < PAIRS; p0 += BATCH * LANES) {
    if (p0 != lane) { // the first batch was loaded before the merge
      for (var q = 0u; q < BATCH; q++) { w[q] = weight_pair(&kvB, rowBase, 2u * min(p0 + q * LANES, PAIRS - 1u)); }
    }
    for (var q = 0u; q < BATCH; q++) {
      let p = p0 + q * LANES;
      if (p < PAIRS) {
        for (var tt = 0u; tt < nT; tt++) {
          let a = tt * RKV + 2u * p;
          var s = w[q].x * latent[a];
          if (2u * p + 1u < RKV) { s += w[q].y * latent[a + 1u]; }
          acc[tt] += s;
        }
      }
    }
  }
  for (var tt = 0u; tt < TT; tt++) { partial[tt * WG + lid] = acc[tt]; }
  workgroupBarrier();
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      for (var tt = 0u; tt < TT; tt++) { partial[tt * WG + lid] += partial[tt * WG + lid + stride]; }
    }
    workgroupBarrier();
  }
  if (lane == 0u && i < DV) {
    for (var tt = 0u; tt < nT; tt++) { out[(t0 + tt) * OUT_WIDTH + h * DV + i] = partial[tt * WG + lid]; }
  }
}
