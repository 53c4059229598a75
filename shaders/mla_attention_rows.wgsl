// Weight-absorbed MLA attention for dense steps of several rows (prefill chunks), each workgroup taking QS query
// slots: RT = QS / HG rows x HG heads (slot s = row t0 + s / HG, head h0 + s % HG), so each key block it stages
// serves every slot at once instead of one row's heads (mla_attention_heads.wgsl, which decode and sparse steps keep).
//   s[q,u] = SCALE · qAbs[q]·cache[u]     (a [QS, WIDTH] x [WIDTH, KB] product per block of KB keys)
//   ô[q]   = Σ_u softmax_u(s[q,·]) · c(u)  (online softmax per slot, accumulators rescaled per block)
// Shares and partials are the heads kernel's: row t's keys 0..pos0 + t are cut into share_count(pos0 + t + 1)
// shares (mla_shares.wgsl) and workgroup (g, tile, z) writes share z of each of its rows to partials
// [T, NH, SPLITS, RKV + 2] (unnormalised accumulator, running max m, sum l), exactly the keys the heads kernel's
// workgroup (g, t, z) would take, so its `combine` merges them unchanged. A row's share z is [z·per_t, (z+1)·per_t)
// with per_t from its own key count; the workgroup walks the union of its rows' ranges and masks each slot to its
// row's range (rows of a tile differ by < RT keys, so the union is barely longer than one range).
// Scores: per block, query and key chunks of DC dims pass through workgroup memory (rows padded by one vec4 against
// bank conflicts; the next chunk's loads in flight while the current one is used); thread (slot group qg, key group
// kg) sums the dots of slots 4qg .. 4qg + 3 with keys kg + 16j (j < TK) from vec4 reads. Probabilities then
// overwrite the staged chunks as [key][slot group] vec4s. Values: thread lid owns ô dims lid, lid + WG, … of all QS
// slots and reads each key's c(u) once for all of them, the next KEYS_TOGETHER keys' loads in flight while these
// are used. Workgroup memory is written only as whole vec4s (a component store can become a read-modify-write of
// the vector on some backends, racing with the threads writing its other components).
// SKIP_SPARSE (models with a DSA selection): sparse steps are the heads kernel's, so workgroups exit at once.
#include "step"
#include "mla_shares"

const WIDTH: u32 = RKV + DR;
const SHARE: u32 = RKV + 2u;
const NEG_BIG: f32 = -3.0e38;                 // "no key yet": finite so exp(NEG_BIG − m) is a clean 0
const QS: u32 = 64u;                          // query slots per workgroup
const GROUPS: u32 = QS / 4u;                  // slot groups: slots 4g .. 4g + 3, one vec4
const RT: u32 = QS / HG;                      // rows per workgroup
const TK: u32 = KB / 16u;                     // keys per thread in the score tile (16 key groups)
const DC4: u32 = DC / 4u;                     // vec4s per staged chunk row
const S4: u32 = DC4 + 1u;                     // staged row stride in vec4s (padded)
const KEY_BASE: u32 = QS * S4;                // where the key chunk starts in `stage`
const CHUNKS: u32 = (WIDTH + DC - 1u) / DC;
const Q_PER: u32 = QS * DC4 / WG;             // staged query vec4s per thread
const K_PER: u32 = KB * DC4 / WG;             // staged key vec4s per thread
const PARTS: u32 = 4u;                        // threads sharing one slot group's softmax (QS threads in all)
const KEYS_PER_PART: u32 = KB / PARTS;
const DPT: u32 = (RKV + WG - 1u) / WG;        // ô dims per thread and slot
const KEYS_TOGETHER: u32 = 4u;                // value rows whose loads are issued together (KB a multiple)

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> qAbs: array<f32>;              // [T, NH, RKV + DR]
@group(0) @binding(2) var<storage, read> latentCache: array<f32>;       // [MAX_CONTEXT, RKV + DR]
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;    // [T, NH, SPLITS, RKV + 2] acc, m, l

// Query chunk [slot][dim] then key chunk [key][dim] (rows of S4 vec4s); after the scores, [key][slot group].
var<workgroup> stage: array<vec4<f32>, (QS + KB) * S4>;
var<workgroup> slotBegin: array<vec4<u32>, GROUPS>; // each slot's row's key range in this share (empty if unused)
var<workgroup> slotEnd: array<vec4<u32>, GROUPS>;
var<workgroup> slotM: array<vec4<f32>, GROUPS>;     // running max per slot
var<workgroup> slotL: array<vec4<f32>, GROUPS>;     // running sum per slot
var<workgroup> slotAlpha: array<vec4<f32>, GROUPS>; // this block's rescale of the accumulators
var<workgroup> partReduce: array<vec4<f32>, QS>;    // [part][slot group] the block's partial maxima, then sums
var<private> qReg: array<vec4<f32>, Q_PER>;
var<private> kReg: array<vec4<f32>, K_PER>;

// Row t's share z as [begin, end) key positions (end 0 when t has fewer shares), as the heads kernel cuts it.
fn share_range(t: u32, z: u32) -> vec2<u32> {
  let nKeys = step.pos0 + t + 1u;
  let shares = share_count(nKeys);
  if (z >= shares) { return vec2<u32>(0u, 0u); }
  let per = (nKeys + shares - 1u) / shares;
  let begin = min(nKeys, z * per);
  return vec2<u32>(begin, min(nKeys, begin + per));
}

// Whether slot s (row t0 + s / HG, head h0 + s % HG) is a query of this step.
fn slot_used(s: u32, t0: u32, h0: u32) -> bool {
  return s < RT * HG && t0 + s / HG < step.rows && h0 + s % HG < NH;
}

// Dims d .. d + 3 of a cache row (0 past WIDTH or when !ok).
fn load_key(base: u32, d: u32, ok: bool) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    let valid = ok && d + c < WIDTH;
    v[c] = select(0.0, latentCache[select(0u, base + d + c, valid)], valid);
  }
  return v;
}

// Dims d .. d + 3 of a query row (0 past WIDTH or when !ok).
fn load_query(base: u32, d: u32, ok: bool) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    let valid = ok && d + c < WIDTH;
    v[c] = select(0.0, qAbs[select(0u, base + d + c, valid)], valid);
  }
  return v;
}

// Chunk c of the slots' queries and of keys k0 .. k0 + n − 1 into registers.
fn load_chunk(c: u32, t0: u32, h0: u32, k0: u32, n: u32, lid: u32) {
  let d0 = c * DC;
  for (var r = 0u; r < Q_PER; r++) {
    let i = lid + r * WG;
    let s = i / DC4;
    qReg[r] = load_query(((t0 + s / HG) * NH + h0 + s % HG) * WIDTH, d0 + (i % DC4) * 4u, slot_used(s, t0, h0));
  }
  for (var r = 0u; r < K_PER; r++) {
    let i = lid + r * WG;
    let k = i / DC4;
    kReg[r] = load_key((k0 + k) * WIDTH, d0 + (i % DC4) * 4u, k < n && k0 + k < MAX_CONTEXT);
  }
}

fn store_chunk(lid: u32) {
  for (var r = 0u; r < Q_PER; r++) {
    let i = lid + r * WG;
    stage[(i / DC4) * S4 + i % DC4] = qReg[r];
  }
  for (var r = 0u; r < K_PER; r++) {
    let i = lid + r * WG;
    stage[KEY_BASE + (i / DC4) * S4 + i % DC4] = kReg[r];
  }
}

// Whether key u is in the ranges of slot group g's four slots.
fn visible(g: u32, u: u32) -> vec4<bool> {
  let at = vec4<u32>(u);
  return (at >= slotBegin[g]) & (at < slotEnd[g]);
}

// The cache row of key u for the value reads (row 0, whose probability is 0, past the cache).
fn value_row(u: u32) -> u32 {
  return select(0u, u, u < MAX_CONTEXT) * WIDTH;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
#ifdef SKIP_SPARSE
  if (step.sparse == 1u) { return; } // the heads kernel's, with each row's selection
#endif
  let h0 = wid.x * HG;
  let t0 = wid.y * RT;
  let z = wid.z;
  if (t0 >= step.rows) { return; }
  // The union of the tile's rows' ranges in share z (uniform: from the step and the workgroup id only).
  var kBegin = 0xffffffffu;
  var kEnd = 0u;
  for (var r = 0u; r < RT; r++) {
    let t = t0 + r;
    if (t < step.rows && z < share_count(step.pos0 + t + 1u)) {
      let range = share_range(t, z);
      kBegin = min(kBegin, range.x);
      kEnd = max(kEnd, range.y);
    }
  }
  if (kEnd == 0u) { return; } // no row of the tile has a share z
  kBegin = min(kBegin, kEnd);
  if (lid < GROUPS) {
    var begin = vec4<u32>(0u);
    var end = vec4<u32>(0u);
    for (var c = 0u; c < 4u; c++) {
      let s = lid * 4u + c;
      if (slot_used(s, t0, h0)) {
        let range = share_range(t0 + s / HG, z);
        begin[c] = range.x;
        end[c] = min(range.y, MAX_CONTEXT);
      }
    }
    slotBegin[lid] = begin;
    slotEnd[lid] = end;
    slotM[lid] = vec4<f32>(NEG_BIG);
    slotL[lid] = vec4<f32>(0.0);
  }
  let lane = lid % 32u;
  let warp = lid / 32u;
  let kg = (warp % 2u) * 8u + lane % 8u; // keys kg + 16j: a warp's 8 key rows hit distinct banks
  let qg = (warp / 2u) * 4u + lane / 8u; // slots 4qg .. 4qg + 3
  let sg = lid % GROUPS;                 // the slot group whose softmax this thread shares (lid < QS)
  let part = lid / GROUPS;
  var acc: array<f32, QS * DPT>;         // [slot][j] for dims lid + j·WG

  for (var k0 = kBegin; k0 < kEnd; k0 += KB) {
    let n = min(KB, kEnd - k0);
    var dots: array<vec4<f32>, TK>;      // [key j] the four slots' dots
    for (var j = 0u; j < TK; j++) { dots[j] = vec4<f32>(0.0); }
    load_chunk(0u, t0, h0, k0, n, lid);
    for (var c = 0u; c < CHUNKS; c++) {
      store_chunk(lid);
      workgroupBarrier();
      if (c + 1u < CHUNKS) { load_chunk(c + 1u, t0, h0, k0, n, lid); }
      for (var d4 = 0u; d4 < DC4; d4++) {
        let q0 = stage[(4u * qg) * S4 + d4];
        let q1 = stage[(4u * qg + 1u) * S4 + d4];
        let q2 = stage[(4u * qg + 2u) * S4 + d4];
        let q3 = stage[(4u * qg + 3u) * S4 + d4];
        for (var j = 0u; j < TK; j++) {
          let key = stage[KEY_BASE + (kg + 16u * j) * S4 + d4];
          dots[j] += vec4<f32>(dot(q0, key), dot(q1, key), dot(q2, key), dot(q3, key));
        }
      }
      workgroupBarrier();
    }
    // Scores over the staged chunks (every thread is past the last chunk's reads).
    for (var j = 0u; j < TK; j++) {
      let k = kg + 16u * j;
      stage[k * GROUPS + qg] = select(vec4<f32>(NEG_BIG), SCALE * dots[j], visible(qg, k0 + k));
    }
    workgroupBarrier();

    // Online softmax: PARTS threads per slot group, KEYS_PER_PART keys each.
    let kFirst = part * KEYS_PER_PART;
    var mOld = vec4<f32>(NEG_BIG);
    var mNew = mOld;
    if (lid < QS) {
      var blockMax = vec4<f32>(NEG_BIG);
      for (var k = kFirst; k < kFirst + KEYS_PER_PART; k++) { blockMax = max(blockMax, stage[k * GROUPS + sg]); }
      partReduce[lid] = blockMax;
    }
    workgroupBarrier();
    if (lid < QS) {
      mOld = slotM[sg];
      mNew = mOld;
      for (var p = 0u; p < PARTS; p++) { mNew = max(mNew, partReduce[p * GROUPS + sg]); }
    }
    workgroupBarrier(); // every thread has read partReduce
    if (lid < QS) {
      var sum = vec4<f32>(0.0);
      for (var k = kFirst; k < kFirst + KEYS_PER_PART; k++) {
        let e = select(vec4<f32>(0.0), exp(stage[k * GROUPS + sg] - mNew), visible(sg, k0 + k));
        stage[k * GROUPS + sg] = e;
        sum += e;
      }
      partReduce[lid] = sum;
    }
    workgroupBarrier();
    if (lid < GROUPS) {
      var total = vec4<f32>(0.0);
      for (var p = 0u; p < PARTS; p++) { total += partReduce[p * GROUPS + sg]; }
      let alpha = exp(mOld - mNew);
      slotAlpha[sg] = alpha;
      slotL[sg] = slotL[sg] * alpha + total;
      slotM[sg] = mNew;
    }
    workgroupBarrier();

    for (var g = 0u; g < GROUPS; g++) {
      let alpha = slotAlpha[g];
      for (var c = 0u; c < 4u; c++) {
        for (var j = 0u; j < DPT; j++) { acc[(g * 4u + c) * DPT + j] *= alpha[c]; }
      }
    }
    // Keys past n (and masked ones) have probability 0: their rows are read clamped and add nothing.
    var next: array<f32, KEYS_TOGETHER * DPT>;
    for (var q = 0u; q < KEYS_TOGETHER; q++) {
      let row = value_row(k0 + q);
      for (var j = 0u; j < DPT; j++) { next[q * DPT + j] = latentCache[row + min(lid + j * WG, RKV - 1u)]; }
    }
    for (var k = 0u; k < n; k += KEYS_TOGETHER) {
      let values = next;
      if (k + KEYS_TOGETHER < n) {
        for (var q = 0u; q < KEYS_TOGETHER; q++) {
          let row = value_row(k0 + k + KEYS_TOGETHER + q);
          for (var j = 0u; j < DPT; j++) { next[q * DPT + j] = latentCache[row + min(lid + j * WG, RKV - 1u)]; }
        }
      }
      for (var q = 0u; q < KEYS_TOGETHER; q++) {
        for (var g = 0u; g < GROUPS; g++) {
          let p = stage[(k + q) * GROUPS + g];
          for (var c = 0u; c < 4u; c++) {
            for (var j = 0u; j < DPT; j++) { acc[(g * 4u + c) * DPT + j] += p[c] * values[q * DPT + j]; }
          }
        }
      }
    }
    workgroupBarrier(); // the next block overwrites stage and slotAlpha
  }

  for (var s = 0u; s < QS; s++) {
    let t = t0 + s / HG;
    if (slot_used(s, t0, h0) && z < share_count(step.pos0 + t + 1u)) {
      let shareBase = ((t * NH + h0 + s % HG) * SPLITS + z) * SHARE;
      for (var j = 0u; j < DPT; j++) {
        let d = lid + j * WG;
        if (d < RKV) { partials[shareBase + d] = acc[s * DPT + j]; }
      }
      if (lid == 0u) {
        partials[shareBase + RKV] = slotM[s / 4u][s % 4u];
        partials[shareBase + RKV + 1u] = slotL[s / 4u][s % 4u];
      }
    }
  }
}
