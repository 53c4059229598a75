// Weight-absorbed MLA attention with the heads sharing each key read (GPU layout; mla_attention.wgsl is the
// one-head-per-workgroup form kept for CPU adapters). In the absorbed form every head attends over the same latent
// rows [c(u) ; kR(u)], so a workgroup takes a group of HG heads of one query row t and one share of its keys:
//   s[h,u] = SCALE · qAbs[t,h]·cache[u]        (a [HG, WIDTH] x [WIDTH, KB] product per block of KB keys)
//   ô[t,h] = Σ_u softmax_u(s[h,·]) · c(u)      (online softmax per head, accumulators rescaled per block)
// Keys u ≤ pos0 + t, or the DSA selection indices[t, 0:counts[t]] when SELECTION and step.sparse == 1 (entries
// past pos0 + t ignored). The keys of a row are cut into share_count(nKeys) shares of at least MIN_KEYS keys, at
// most SPLITS; workgroup (g, t, z) takes share z and writes its unnormalised accumulator with the running max m and
// sum l per head to partials [T, NH, SPLITS, RKV + 2]; entry point `combine` merges a row's shares into ô
// (M = max m_z, ô = Σ_z e^(m_z − M) acc_z / Σ_z e^(m_z − M) l_z; 0 with no visible key).
// Scores: per block the query and key rows pass through workgroup memory DC dims at a time (coalesced loads, key
// rows padded against bank conflicts), the next chunk's loads in flight while the current one is used; thread
// (key kk, head group part hq) sums HPT heads' dots. Values: thread lid owns ô dims lid, lid + WG, … of all HG
// heads and reads each key's c(u) once for all of them, KEYS_TOGETHER keys' loads at a time (a register array
// indexed by constants only: one indexed by a runtime key count would live in local memory).
// Loads are issued in batches throughout: on a GPU a loop that waits on each load in turn costs a memory latency
// (~0.5 µs) per iteration, which made a one-load-per-iteration version of this kernel ~5x slower.
#include "step"

const WIDTH: u32 = RKV + DR;
const SHARE: u32 = RKV + 2u;
const NEG_BIG: f32 = -3.0e38;            // "no key yet": finite so exp(NEG_BIG − m) is a clean 0

@group(0) @binding(0) var<uniform> step: Step;
#ifdef COMBINE
@group(0) @binding(1) var<storage, read> partials: array<f32>;          // [T, NH, SPLITS, RKV + 2]
@group(0) @binding(2) var<storage, read_write> attnLatent: array<f32>;  // [T, NH, RKV] ô
#ifdef SELECTION
@group(0) @binding(3) var<storage, read> counts: array<u32>;            // [T]
#endif
#else
@group(0) @binding(1) var<storage, read> qAbs: array<f32>;              // [T, NH, RKV + DR]
@group(0) @binding(2) var<storage, read> latentCache: array<f32>;       // [MAX_CONTEXT, RKV + DR]
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;    // [T, NH, SPLITS, RKV + 2] acc, m, l
#ifdef SELECTION
@group(0) @binding(4) var<storage, read> indices: array<u32>;           // [T, TOPK] selected key positions
@group(0) @binding(5) var<storage, read> counts: array<u32>;            // [T] valid entries of each indices row
#endif
#endif

#include "mla_keys"

// Shares a row's keys are cut into: each at least MIN_KEYS keys, at most SPLITS shares.
fn share_count(nKeys: u32) -> u32 {
  return clamp((nKeys + MIN_KEYS - 1u) / MIN_KEYS, 1u, SPLITS);
}

#ifdef COMBINE
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
var<workgroup> shareWeight: array<f32, SPLITS>; // m_z, then e^(m_z − M)
var<workgroup> shareSum: array<f32, SPLITS>;    // l_z
var<workgroup> laneSum: array<f32, WG>;         // [share lane][dim] partial sums
const SHARE_LANES: u32 = WG / COMBINE_DIMS;      // threads splitting one dim's shares
const UNROLL: u32 = 8u;                          // shares whose loads a thread issues together

// The workgroup's max of one value per thread (through laneSum; every thread gets the result; the sum is
// common/workgroup_sum.wgsl's).
fn reduce_lanes_max(lid: u32, value: f32) -> f32 {
  laneSum[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { laneSum[lid] = max(laneSum[lid], laneSum[lid + stride]); }
    workgroupBarrier();
  }
  let result = laneSum[0];
  workgroupBarrier();
  return result;
}


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
  // M = max m_z and Σ e^(m_z − M) l_z as tree reductions (a loop over up to SPLITS shares per thread was several µs).
  var top = NEG_BIG;
  for (var z = lid; z < shares; z += WG) { top = max(top, shareWeight[z]); }
  top = reduce_lanes_max(lid, top);
  for (var z = lid; z < shares; z += WG) { shareWeight[z] = exp(shareWeight[z] - top); }
  workgroupBarrier();
  var part = 0.0;
  for (var z = lid; z < shares; z += WG) { part += shareWeight[z] * shareSum[z]; }
  let total = workgroup_sum(lid, part);
  let inv = select(0.0, 1.0 / total, total > 0.0);
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
#else
const KEY_GROUPS: u32 = WG / KB;         // threads scoring one key, each for HPT heads
const HPT: u32 = (HG + KEY_GROUPS - 1u) / KEY_GROUPS;
const QS_HEADS: u32 = KEY_GROUPS * HPT;  // staged query rows (those past HG are zero)
const DPT: u32 = (RKV + WG - 1u) / WG;   // ô dims per thread and head
const CHUNKS: u32 = (WIDTH + DC - 1u) / DC;
const KS_STRIDE: u32 = DC + 1u;
const Q_PER: u32 = (QS_HEADS * DC + WG - 1u) / WG; // staged query floats per thread
const K_PER: u32 = (KB * DC + WG - 1u) / WG;       // staged key floats per thread
const KEYS_TOGETHER: u32 = 8u;                     // value rows whose loads are issued together (KB a multiple)

var<workgroup> qs: array<f32, QS_HEADS * DC>;   // query chunk [head][dim]
var<workgroup> ks: array<f32, KB * KS_STRIDE>;  // key chunk [key][dim], padded
var<workgroup> prob: array<f32, HG * KB>;       // the block's scores, then probabilities [head][key]
var<workgroup> keyPos: array<u32, KB>;          // the block's key positions (NO_KEY when masked)
var<workgroup> headM: array<f32, HG>;           // running max per head
var<workgroup> headL: array<f32, HG>;           // running sum per head
var<workgroup> headAlpha: array<f32, HG>;       // this block's rescale of the accumulators
// The next dim chunk, loaded into registers while the current one is being used: every load of a chunk is in
// flight at once, and behind the previous chunk's arithmetic.
var<private> qReg: array<f32, Q_PER>;
var<private> kReg: array<f32, K_PER>;

fn load_chunk(c: u32, t: u32, h0: u32, lid: u32) {
  let d0 = c * DC;
  for (var r = 0u; r < Q_PER; r++) {
    let i = lid + r * WG;
    let hh = i / DC;
    let d = d0 + i % DC;
    let ok = i < QS_HEADS * DC && hh < HG && h0 + hh < NH && d < WIDTH;
    qReg[r] = select(0.0, qAbs[select(0u, (t * NH + h0 + hh) * WIDTH + d, ok)], ok);
  }
  for (var r = 0u; r < K_PER; r++) {
    let i = lid + r * WG;
    let u = keyPos[min(i / DC, KB - 1u)];
    let d = d0 + i % DC;
    let ok = i < KB * DC && u != NO_KEY && d < WIDTH;
    kReg[r] = select(0.0, latentCache[select(0u, u * WIDTH + d, ok)], ok);
  }
}

fn store_chunk(lid: u32) {
  for (var r = 0u; r < Q_PER; r++) {
    let i = lid + r * WG;
    if (i < QS_HEADS * DC) { qs[i] = qReg[r]; }
  }
  for (var r = 0u; r < K_PER; r++) {
    let i = lid + r * WG;
    if (i < KB * DC) { ks[(i / DC) * KS_STRIDE + i % DC] = kReg[r]; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h0 = wid.x * HG;
  let t = wid.y;
  let z = wid.z;
  if (t >= step.rows) { return; }
  let nKeys = key_count(t);
  let shares = share_count(nKeys);
  if (z >= shares) { return; }
  let per = (nKeys + shares - 1u) / shares;
  let kBegin = min(nKeys, z * per);
  let kEnd = min(nKeys, kBegin + per);
  if (lid < HG) {
    headM[lid] = NEG_BIG;
    headL[lid] = 0.0;
  }
  let kk = lid % KB; // the key this thread scores
  let hq = lid / KB; // and its heads hq·HPT .. hq·HPT + HPT − 1
  var acc: array<f32, HG * DPT>; // [head][j] for dims lid + j·WG

  for (var k0 = kBegin; k0 < kEnd; k0 += KB) {
    let n = min(KB, kEnd - k0);
    if (lid < KB) {
      var u = NO_KEY;
      if (lid < n) { u = visible_key(t, k0 + lid); }
      keyPos[lid] = u;
    }
    workgroupBarrier();

    var dot: array<f32, HPT>;
    for (var j = 0u; j < HPT; j++) { dot[j] = 0.0; }
    load_chunk(0u, t, h0, lid);
    for (var c = 0u; c < CHUNKS; c++) {
      store_chunk(lid);
      workgroupBarrier();
      if (c + 1u < CHUNKS) { load_chunk(c + 1u, t, h0, lid); }
      for (var d = 0u; d < DC; d++) {
        let kv = ks[kk * KS_STRIDE + d];
        for (var j = 0u; j < HPT; j++) { dot[j] += qs[(hq * HPT + j) * DC + d] * kv; }
      }
      workgroupBarrier();
    }
    for (var j = 0u; j < HPT; j++) {
      let hh = hq * HPT + j;
      if (hh < HG) { prob[hh * KB + kk] = select(NEG_BIG, SCALE * dot[j], keyPos[kk] != NO_KEY); }
    }
    workgroupBarrier();

    if (lid < HG) {
      var blockMax = NEG_BIG;
      for (var k = 0u; k < n; k++) { blockMax = max(blockMax, prob[lid * KB + k]); }
      let mOld = headM[lid];
      let mNew = max(mOld, blockMax);
      headAlpha[lid] = exp(mOld - mNew);
      headM[lid] = mNew;
    }
    workgroupBarrier();
    for (var i = lid; i < HG * KB; i += WG) {
      let k = i % KB;
      prob[i] = select(0.0, exp(prob[i] - headM[i / KB]), k < n && keyPos[k] != NO_KEY);
    }
    workgroupBarrier();

    if (lid < HG) {
      var sum = 0.0;
      for (var k = 0u; k < n; k++) { sum += prob[lid * KB + k]; }
      headL[lid] = headL[lid] * headAlpha[lid] + sum;
    }
    for (var hh = 0u; hh < HG; hh++) {
      let alpha = headAlpha[hh];
      for (var j = 0u; j < DPT; j++) { acc[hh * DPT + j] *= alpha; }
    }
    // Masked and missing keys have probability 0 (their rows are read clamped, and add nothing).
    for (var k = 0u; k < n; k += KEYS_TOGETHER) {
      var v: array<f32, KEYS_TOGETHER * DPT>;
      for (var q = 0u; q < KEYS_TOGETHER; q++) {
        let u = keyPos[k + q];
        let row = select(0u, u, u != NO_KEY) * WIDTH;
        for (var j = 0u; j < DPT; j++) { v[q * DPT + j] = latentCache[row + min(lid + j * WG, RKV - 1u)]; }
      }
      for (var q = 0u; q < KEYS_TOGETHER; q++) {
        for (var hh = 0u; hh < HG; hh++) {
          let p = prob[hh * KB + k + q];
          for (var j = 0u; j < DPT; j++) { acc[hh * DPT + j] += p * v[q * DPT + j]; }
        }
      }
    }
    workgroupBarrier(); // the next block overwrites keyPos, prob and headAlpha
  }

  for (var hh = 0u; hh < HG; hh++) {
    if (h0 + hh < NH) {
      let shareBase = ((t * NH + h0 + hh) * SPLITS + z) * SHARE;
      for (var j = 0u; j < DPT; j++) {
        let d = lid + j * WG;
        if (d < RKV) { partials[shareBase + d] = acc[hh * DPT + j]; }
      }
      if (lid == 0u) {
        partials[shareBase + RKV] = headM[hh];
        partials[shareBase + RKV + 1u] = headL[hh];
      }
    }
  }
}
#endif
