// Decode's last attention step in one dispatch: merges head h's key shares (the partial softmax states
// mla_attention_heads.wgsl wrote; same arithmetic as mla_heads_combine.wgsl: M = max m_z, ô = Σ_z e^(m_z − M) acc_z
// · 1 / Σ_z e^(m_z − M) l_z, 0 with no visible key) into ô[t,h] in workgroup memory, then takes the value
// up-projection of ROWS of head h's rows from there (mla_absorb.wgsl VALUE_UP's product):
//   out[t, h·DV + i] = Σ_j W_UV_h[i, j] · ô[t,h,j]
// Workgroup (row block, h, t). Every row block of a head merges the same shares again (SPLITS·(RKV + 2) floats of
// L2 each), traded for the dispatch a separate combine costs. The W_UV words do not depend on ô: each thread loads
// its row's words first, so they arrive during the merge. RKV even: the shares are read as f32 pairs (a share of
// RKV + 2 floats stays 8-byte aligned, its (m, l) the last pair).
#include "step"
#include "weights"

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> partials: array<vec2<f32>>; // [T, NH, SPLITS, (RKV + 2) / 2] pairs
#ifdef WEIGHT_F16
@group(0) @binding(2) var<storage, read> kvB: array<u32>;            // [NH*(DN+DV), RKV/2] f16 pairs
#else
@group(0) @binding(2) var<storage, read> kvB: array<f32>;            // [NH*(DN+DV), RKV]
#endif
@group(0) @binding(3) var<storage, read_write> out: array<f32>;      // [T, NH*DV]
#ifdef SELECTION
@group(0) @binding(4) var<storage, read> counts: array<u32>;         // [T]
#endif

#include "mla_keys"
#include "mla_shares"
#include "workgroup_sum"
#include "mla_share_weights"

const PAIRS: u32 = RKV / 2u;                      // ô and W_UV rows as f32 pairs
const SHARE_PAIRS: u32 = SHARE / 2u;
const HEAD_ROWS: u32 = DN + DV;                   // rows of kv_b_proj per head: W_UK_h, then W_UV_h
const LANES: u32 = WG / ROWS;                     // threads sharing one output row's dot
const PER_LANE: u32 = (PAIRS + LANES - 1u) / LANES; // W_UV pairs a thread holds
const PAIR_BLOCK: u32 = WG / SHARE_LANES;         // ô pairs merged at once; SHARE_LANES threads split each one's shares
const UNROLL: u32 = 16u;                          // shares whose loads a thread issues together

var<workgroup> shareWeight: array<f32, SPLITS>;   // m_z, then e^(m_z − M)
var<workgroup> shareSum: array<f32, SPLITS>;      // l_z
var<workgroup> laneSum: array<vec2<f32>, WG>;     // [share lane][pair] partial sums
var<workgroup> latent: array<vec2<f32>, PAIRS>;   // ô[t,h]

// ô[t,h] into `latent` (uniform control flow: every thread of the workgroup calls it).
fn merge_shares(t: u32, h: u32, lid: u32) {
  let shares = share_count(key_count(t));
  let base = (t * NH + h) * SPLITS * SHARE_PAIRS;
  for (var z = lid; z < shares; z += WG) {
    let ml = partials[base + z * SHARE_PAIRS + PAIRS];
    shareWeight[z] = ml.x;
    shareSum[z] = ml.y;
  }
  workgroupBarrier();
  let inv = share_weights(shares, lid);
  // Thread (share lane sl, pair dl) sums shares sl, sl + SHARE_LANES, … of pair d0 + dl (consecutive threads read
  // consecutive pairs), then the lanes' sums are added.
  let dl = lid % PAIR_BLOCK;
  let sl = lid / PAIR_BLOCK;
  for (var d0 = 0u; d0 < PAIRS; d0 += PAIR_BLOCK) {
    let d = d0 + dl;
    let dRead = min(d, PAIRS - 1u);
    var sum = vec2<f32>(0.0);
    for (var z0 = sl; z0 < shares; z0 += UNROLL * SHARE_LANES) {
      var v: array<vec2<f32>, UNROLL>;
      for (var q = 0u; q < UNROLL; q++) { v[q] = partials[base + min(z0 + q * SHARE_LANES, shares - 1u) * SHARE_PAIRS + dRead]; }
      for (var q = 0u; q < UNROLL; q++) {
        let z = z0 + q * SHARE_LANES;
        sum += select(vec2<f32>(0.0), shareWeight[min(z, shares - 1u)] * v[q], z < shares);
      }
    }
    laneSum[lid] = sum;
    workgroupBarrier();
    if (sl == 0u && d < PAIRS) {
      var all = vec2<f32>(0.0);
      for (var l = 0u; l < SHARE_LANES; l++) { all += laneSum[l * PAIR_BLOCK + dl]; }
      latent[d] = all * inv;
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.y;
  let t = wid.z;
  if (t >= step.rows) { return; }
  let lane = lid % LANES;
  let i = wid.x * ROWS + lid / LANES; // row of W_UV_h
  let rowBase = (h * HEAD_ROWS + DN + min(i, DV - 1u)) * ROW_STRIDE;
  var w: array<vec2<f32>, PER_LANE>;
  for (var k = 0u; k < PER_LANE; k++) { w[k] = weight_pair(&kvB, rowBase, 2u * min(lane + k * LANES, PAIRS - 1u)); }

  merge_shares(t, h, lid);

  var acc = 0.0;
  for (var k = 0u; k < PER_LANE; k++) {
    let p = lane + k * LANES;
    if (p < PAIRS) { acc += dot(w[k], latent[p]); }
  }
  partial[lid] = acc;
  workgroupBarrier();
  if (lane == 0u && i < DV) {
    var row = 0.0;
    for (var l = 0u; l < LANES; l++) { row += partial[lid + l]; }
    out[(t * NH + h) * DV + i] = row;
  }
}
