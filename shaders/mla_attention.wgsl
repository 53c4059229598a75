// Weight-absorbed MLA attention over the latent cache (deepseek-math.md §3.3 steps 2–3), for prefill rows and
// decode alike. Query row t (absolute position pos0 + t), head h, cached token u = [c(u) ; kR(u)]:
//   s(u) = SCALE · (qAbs[t,h, 0:RKV]·c(u) + qAbs[t,h, RKV:]·kR(u))   — one (RKV+DR)-dot against the cache row
//   ô[t,h] = Σ_u softmax(s)(u) · c(u)                                 — over keys u ≤ pos0 + t
// Variant SELECTION (DSA, §6): when also step.sparse == 1 at run time, the keys are indices[t, 0:counts[t]]
// instead of 0..pos0+t (entries beyond pos0 + t are ignored). With no visible key the output is 0.
// Layout: one workgroup of WG threads per (head, row). Keys stream in blocks of WG with an online softmax
// (running max m and sum l, accumulator rescaled by exp(m_old − m_new)), so any context length works without a
// scores buffer. Per block: groups of SCORE_LANES threads score the block's keys, a key per group at a time, each
// lane dotting dims lane, lane + SCORE_LANES, … of its cache row against the query held in workgroup memory
// (consecutive lanes read consecutive floats: coalesced, instead of one thread walking a whole 2.3 KB row); thread
// k then sums key k's lane partials.
// SPLIT (decode): workgroup (h, t, z) takes only its z-th share of the keys (SPLITS shares), so a one-token step
// runs NH x SPLITS workgroups instead of NH, and writes its unnormalised accumulator with its running max m and
// sum l to `partials` [T, NH, SPLITS, RKV + 2]; entry point `combine` (COMBINE) then merges the shares into ô:
// M = max m_z, ô = Σ_z e^(m_z − M) acc_z / Σ_z e^(m_z − M) l_z (0 with no visible key), as the online softmax does
// between blocks. Every thread then folds all the block's probabilities into the ô dims it
// owns (dims lid, lid + WG, …), so the c(u) reads are coalesced there too.
#include "step"

const WIDTH: u32 = RKV + DR;                 // one cached token / one absorbed query
const DIMS_PER_THREAD: u32 = (RKV + WG - 1u) / WG;
const NEG_BIG: f32 = -3.0e38;                // "no key yet": finite so exp(NEG_BIG − m) is a clean 0

@group(0) @binding(0) var<uniform> step: Step;
#ifdef COMBINE
@group(0) @binding(1) var<storage, read> partials: array<f32>;          // [T, NH, SPLITS, RKV + 2]
@group(0) @binding(2) var<storage, read_write> attnLatent: array<f32>;  // [T, NH, RKV] ô

const SHARE: u32 = RKV + 2u;

@compute @workgroup_size(WG)
fn combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  if (t >= step.rows) { return; }
  let base = (t * NH + h) * SPLITS * SHARE;
  var top = -3.0e38;
  for (var z = 0u; z < SPLITS; z++) { top = max(top, partials[base + z * SHARE + RKV]); }
  var total = 0.0;
  for (var z = 0u; z < SPLITS; z++) { total += exp(partials[base + z * SHARE + RKV] - top) * partials[base + z * SHARE + RKV + 1u]; }
  let inv = select(0.0, 1.0 / total, total > 0.0);
  for (var d = lid; d < RKV; d += WG) {
    var sum = 0.0;
    for (var z = 0u; z < SPLITS; z++) { sum += exp(partials[base + z * SHARE + RKV] - top) * partials[base + z * SHARE + d]; }
    attnLatent[(t * NH + h) * RKV + d] = sum * inv;
  }
}
#else
@group(0) @binding(1) var<storage, read> qAbs: array<f32>;          // [T, NH, RKV + DR]
@group(0) @binding(2) var<storage, read> latentCache: array<f32>;   // [MAX_CONTEXT, RKV + DR]
#ifdef SPLIT
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;  // [T, NH, SPLITS, RKV + 2] acc, m, l
#else
@group(0) @binding(3) var<storage, read_write> attnLatent: array<f32>; // [T, NH, RKV] ô
#endif
#ifdef SELECTION
@group(0) @binding(4) var<storage, read> indices: array<u32>;       // [T, TOPK] selected key positions
@group(0) @binding(5) var<storage, read> counts: array<u32>;        // [T] valid entries of each indices row
#endif

var<workgroup> query: array<f32, WIDTH>;
var<workgroup> blockProb: array<f32, WG>;  // the block's logits, then its unnormalised probabilities
var<workgroup> blockKey: array<u32, WG>;   // the block's key positions (NO_KEY when masked)
const SCORE_GROUPS: u32 = WG / SCORE_LANES;
const PARTIAL_STRIDE: u32 = SCORE_LANES + 1u; // padded: thread k's sum over its row hits distinct banks
var<workgroup> scorePartial: array<f32, WG * PARTIAL_STRIDE>; // [key of the block][lane]

#include "mla_keys"

// This lane's share of q·[c(u); kR(u)] for cached token u: dims lane, lane + SCORE_LANES, …
fn score_partial(u: u32, lane: u32) -> f32 {
  let base = u * WIDTH;
  var dot = 0.0;
  for (var d = lane; d < WIDTH; d += SCORE_LANES) { dot += query[d] * latentCache[base + d]; }
  return dot;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  if (t >= step.rows) { return; }
  let qBase = (t * NH + h) * WIDTH;
  for (var d = lid; d < WIDTH; d += WG) { query[d] = qAbs[qBase + d]; }
  workgroupBarrier();

  let nKeys = key_count(t);
#ifdef SPLIT
  let share = (nKeys + SPLITS - 1u) / SPLITS;
  let kBegin = min(nKeys, wid.z * share);
  let kEnd = min(nKeys, kBegin + share);
#else
  let kBegin = 0u;
  let kEnd = nKeys;
#endif
  var m = NEG_BIG;
  var l = 0.0;
  var acc: array<f32, DIMS_PER_THREAD>;
  for (var k0 = kBegin; k0 < kEnd; k0 += WG) {
    let n = min(WG, kEnd - k0);
    var u = NO_KEY;
    if (lid < n) { u = visible_key(t, k0 + lid); }
    blockKey[lid] = u;
    workgroupBarrier();
    let lane = lid % SCORE_LANES;
    for (var k = lid / SCORE_LANES; k < n; k += SCORE_GROUPS) {
      let key = blockKey[k];
      if (key != NO_KEY) { scorePartial[k * PARTIAL_STRIDE + lane] = score_partial(key, lane); }
    }
    workgroupBarrier();
    var s = NEG_BIG;
    if (u != NO_KEY) {
      var dot = 0.0;
      for (var j = 0u; j < SCORE_LANES; j++) { dot += scorePartial[lid * PARTIAL_STRIDE + j]; }
      s = SCALE * dot;
    }
    blockProb[lid] = s;
    workgroupBarrier();

    var blockMax = NEG_BIG;
    for (var k = 0u; k < n; k++) { blockMax = max(blockMax, blockProb[k]); }
    let mNew = max(m, blockMax);
    workgroupBarrier(); // everyone has read the logits before they become probabilities
    blockProb[lid] = select(0.0, exp(s - mNew), u != NO_KEY);
    workgroupBarrier();

    let alpha = exp(m - mNew);
    l *= alpha;
    for (var j = 0u; j < DIMS_PER_THREAD; j++) { acc[j] *= alpha; }
    for (var k = 0u; k < n; k++) {
      let key = blockKey[k];
      if (key == NO_KEY) { continue; }
      let p = blockProb[k];
      l += p;
      let base = key * WIDTH;
      for (var j = 0u; j < DIMS_PER_THREAD; j++) {
        let d = lid + j * WG;
        if (d < RKV) { acc[j] += p * latentCache[base + d]; }
      }
    }
    m = mNew;
    workgroupBarrier(); // the next block overwrites blockProb / blockKey
  }

#ifdef SPLIT
  let shareBase = ((t * NH + h) * SPLITS + wid.z) * (RKV + 2u);
  for (var j = 0u; j < DIMS_PER_THREAD; j++) {
    let d = lid + j * WG;
    if (d < RKV) { partials[shareBase + d] = acc[j]; }
  }
  if (lid == 0u) {
    partials[shareBase + RKV] = m;
    partials[shareBase + RKV + 1u] = l;
  }
#else
  let inv = select(0.0, 1.0 / l, l > 0.0);
  let outBase = (t * NH + h) * RKV;
  for (var j = 0u; j < DIMS_PER_THREAD; j++) {
    let d = lid + j * WG;
    if (d < RKV) { attnLatent[outBase + d] = acc[j] * inv; }
  }
#endif
}
#endif
