// Weight-absorbed MLA attention with the heads sharing each key read (GPU layout; mla_attention.wgsl is the
// one-head-per-workgroup form kept for CPU adapters). In the absorbed form every head attends over the same latent
// rows [c(u) ; kR(u)], so a workgroup takes a group of HG heads of one query row t and one share of its keys:
//   s[h,u] = SCALE · qAbs[t,h]·cache[u]        (a [HG, WIDTH] x [WIDTH, KB] product per block of KB keys)
//   ô[t,h] = Σ_u softmax_u(s[h,·]) · c(u)      (online softmax per head, accumulators rescaled per block)
// Keys u ≤ pos0 + t, or the DSA selection indices[t, 0:counts[t]] when SELECTION and step.sparse == 1 (entries
// past pos0 + t ignored). The keys of a row are cut into share_count(nKeys) shares of at least MIN_KEYS keys, at
// most SPLITS; workgroup (g, t, z) takes share z and writes its unnormalised accumulator with the running max m and
// sum l per head to partials [T, NH, SPLITS, RKV + 2]; mla_heads_combine.wgsl merges a row's shares into ô.
// Scores: per block of KB keys the key and query rows pass through workgroup memory DC dims at a time (the next
// chunk's loads in flight while the current one is used). A thread holds a register tile of TH heads x TK keys over
// one of SLICES dim slices: per vec4 column it loads TH query and TK key vec4s for TH·TK·4 FMAs (a thread scoring
// one key for 2 heads did 3 workgroup-memory loads for 2 FMAs, and workgroup memory serves a quarter of the FMA
// rate); the slices' tiles are then summed through workgroup memory. Softmax: thread (key, 4 heads) takes the
// block max itself. Values: thread lid owns ô dims lid, lid + WG, … of all HG heads, reads each key's c(u) once
// for all of them and the key's probabilities as vec4s of 4 heads (one address across the workgroup),
// KEYS_TOGETHER keys' loads at a time (register arrays indexed by constants only: one indexed by a runtime key
// count would live in local memory), the next batch's in flight while one is used.
// Loads are issued in batches throughout: on a GPU a loop that waits on each load in turn costs a memory latency
// (~0.5 µs) per iteration, which made a one-load-per-iteration version of this kernel ~5x slower.
// Workgroup memory (mla-heads.ts headsPlan sizes it): DC = 64 for 16 heads within WebGPU's default 16 KiB, 96 with
// 32 KiB.
#include "step"

const WIDTH: u32 = RKV + DR;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> qAbs: array<f32>;              // [T, NH, RKV + DR]
@group(0) @binding(2) var<storage, read> latentCache: array<f32>;       // [MAX_CONTEXT, RKV + DR]
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;    // [T, NH, SPLITS, RKV + 2] acc, m, l
#ifdef SELECTION
@group(0) @binding(4) var<storage, read> indices: array<u32>;           // [T, TOPK] selected key positions
@group(0) @binding(5) var<storage, read> counts: array<u32>;            // [T] valid entries of each indices row
#endif

#include "mla_keys"
#include "mla_shares"

const TH: u32 = 4u;                        // heads of a score tile
const TK: u32 = 4u;                        // keys of a score tile
const HL: u32 = HP / TH;                   // head lanes (HP: HG rounded up so HL is 1, 2 or 4)
const KEY_LANES: u32 = KB / TK;
const TILE_THREADS: u32 = HL * KEY_LANES;  // threads holding one dim slice's tiles
const SLICES: u32 = 8u;                    // dim slices; threads past SLICES · TILE_THREADS score nothing
const COLS: u32 = DC / 4u;                 // vec4 columns of a staged chunk
const ROW4: u32 = COLS + 1u;               // staged row stride in vec4s: odd, so rows r, r + 1 sit in other banks
const Q_BASE: u32 = KB * ROW4;             // the query rows follow the key rows
const PS4: u32 = HP / 4u;                  // a key's row of HP heads in vec4s
const STAGE4: u32 = max((KB + HP) * ROW4, (SLICES - SLICES / FAN) * KB * PS4);
const K_PER: u32 = (KB * COLS + WG - 1u) / WG; // staged key vec4s per thread
const Q_PER: u32 = (HP * COLS + WG - 1u) / WG; // staged query vec4s per thread
const DPT: u32 = (RKV + WG - 1u) / WG;     // ô dims per thread and head
const CHUNKS: u32 = (WIDTH + DC - 1u) / DC;
const KEYS_TOGETHER: u32 = 8u;             // value rows whose loads are issued together (KB a multiple)

// One region for a dim chunk's rows (keys [key][col], then queries [i·HL + hl][col] for head hl·TH + i), the
// slices' partial score tiles during the reduction ([slot][key][head / 4]) and then the block's scores [key][head / 4].
var<workgroup> stage: array<vec4<f32>, STAGE4>;
var<workgroup> prob: array<vec4<f32>, KB * PS4>;    // the block's probabilities [key][head / 4]
var<workgroup> keyPos: array<u32, 3u * KB>;         // key positions (NO_KEY when masked) of 3 blocks in turn
var<workgroup> headM: array<vec4<f32>, 2u * PS4>;   // running max per head, 2 blocks in turn
var<workgroup> headAlpha: array<vec4<f32>, PS4>;    // this block's rescale of the accumulators
// The next dim chunk, loaded into registers while the current one is being used: every load of a chunk is in
// flight at once, and behind the previous chunk's arithmetic.
var<private> qReg: array<vec4<f32>, Q_PER>;
var<private> kReg: array<vec4<f32>, K_PER>;

// A staged vec4 holds dims d, d + COLS, d + 2·COLS, d + 3·COLS of its chunk (a dot product does not mind the
// order): consecutive threads then load consecutive floats, where 4 consecutive dims a thread would put a warp's
// loads 16 bytes apart. Dims past WIDTH and rows of masked keys or padded heads are 0.
fn cache4(base: u32, d: u32, ok: bool) -> vec4<f32> {
  var v = vec4(0.0);
  for (var e = 0u; e < 4u; e++) {
    let inRow = ok && d + e * COLS < WIDTH;
    v[e] = select(0.0, latentCache[select(0u, base + d + e * COLS, inRow)], inRow);
  }
  return v;
}

fn query4(base: u32, d: u32, ok: bool) -> vec4<f32> {
  var v = vec4(0.0);
  for (var e = 0u; e < 4u; e++) {
    let inRow = ok && d + e * COLS < WIDTH;
    v[e] = select(0.0, qAbs[select(0u, base + d + e * COLS, inRow)], inRow);
  }
  return v;
}

// Chunk c of the block whose key positions start at keyPos[kp]: key vec4 i = (key i / COLS, col i % COLS), query
// vec4 i = (head i / COLS, col).
fn load_chunk(c: u32, kp: u32, t: u32, h0: u32, lid: u32) {
  for (var r = 0u; r < K_PER; r++) {
    let i = lid + r * WG;
    let u = keyPos[kp + min(i / COLS, KB - 1u)];
    let ok = i < KB * COLS && u != NO_KEY;
    kReg[r] = cache4(select(0u, u, ok) * WIDTH, c * DC + i % COLS, ok);
  }
  for (var r = 0u; r < Q_PER; r++) {
    let i = lid + r * WG;
    let hh = i / COLS;
    let ok = i < HP * COLS && hh < HG && h0 + hh < NH;
    qReg[r] = query4(select(0u, (t * NH + h0 + hh) * WIDTH, ok), c * DC + i % COLS, ok);
  }
}

fn store_chunk(lid: u32) {
  for (var r = 0u; r < K_PER; r++) {
    let i = lid + r * WG;
    if (i < KB * COLS) { stage[(i / COLS) * ROW4 + i % COLS] = kReg[r]; }
  }
  for (var r = 0u; r < Q_PER; r++) {
    let i = lid + r * WG;
    let hh = i / COLS;
    if (i < HP * COLS) { stage[Q_BASE + ((hh % TH) * HL + hh / TH) * ROW4 + i % COLS] = qReg[r]; }
  }
}

fn dot_add(acc: f32, a: vec4<f32>, b: vec4<f32>) -> f32 {
  return fma(a.w, b.w, fma(a.z, b.z, fma(a.y, b.y, fma(a.x, b.x, acc))));
}

// The latent values c(u) of keys k0 .. k0 + KEYS_TOGETHER − 1 at this thread's ô dims (masked keys read row 0).
fn load_values(kp: u32, k0: u32, lid: u32) -> array<f32, KEYS_TOGETHER * DPT> {
  var v: array<f32, KEYS_TOGETHER * DPT>;
  for (var q = 0u; q < KEYS_TOGETHER; q++) {
    let u = keyPos[kp + k0 + q];
    let row = select(0u, u, u != NO_KEY) * WIDTH;
    for (var j = 0u; j < DPT; j++) { v[q * DPT + j] = latentCache[row + min(lid + j * WG, RKV - 1u)]; }
  }
  return v;
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
  if (lid < PS4) { headM[lid] = vec4(NEG_BIG); }
  if (lid < KB) {
    var u = NO_KEY;
    if (kBegin + lid < kEnd) { u = visible_key(t, kBegin + lid); }
    keyPos[lid] = u;
  }
  // This thread's score tile: dim slice `slice`, heads hl·TH + i, keys kl + j·KEY_LANES (s[i·TK + j]).
  let slice = lid / TILE_THREADS;
  let hl = lid % HL;
  let kl = (lid % TILE_THREADS) / HL;
  var acc: array<f32, HG * DPT>; // [head][j] for dims lid + j·WG
  var headL = 0.0;               // running sum of head lid (threads lid < HG)
  var values: array<f32, KEYS_TOGETHER * DPT>;
  var block = 0u;
  workgroupBarrier();
  load_chunk(0u, 0u, t, h0, lid);

  for (var k0 = kBegin; k0 < kEnd; k0 += KB) {
    let kp = (block % 3u) * KB;
    let kpNext = ((block + 1u) % 3u) * KB;
    let mOld = (block % 2u) * PS4;
    let mNew = ((block + 1u) % 2u) * PS4;
    // The next block's keys, for its first chunk's loads issued during this block's last chunk.
    if (lid < KB) {
      var u = NO_KEY;
      if (k0 + KB + lid < kEnd) { u = visible_key(t, k0 + KB + lid); }
      keyPos[kpNext + lid] = u;
    }

    // Scores: per staged dim chunk each thread adds its slice's columns to its tile: per vec4 column TH query and
    // TK key loads for TH·TK·4 FMAs (queries read by the KEY_LANES threads of a head lane at once, keys in banks
    // apart).
    var s: array<f32, TH * TK>;
    for (var e = 0u; e < TH * TK; e++) { s[e] = 0.0; }
    for (var c = 0u; c < CHUNKS; c++) {
      store_chunk(lid);
      workgroupBarrier();
      if (c + 1u < CHUNKS) { load_chunk(c + 1u, kp, t, h0, lid); }
      else if (k0 + KB < kEnd) { load_chunk(0u, kpNext, t, h0, lid); }
      if (slice < SLICES) {
        for (var col = slice; col < COLS; col += SLICES) {
          var q: array<vec4<f32>, TH>;
          for (var i = 0u; i < TH; i++) { q[i] = stage[Q_BASE + (i * HL + hl) * ROW4 + col]; }
          for (var j = 0u; j < TK; j++) {
            let key = stage[(kl + j * KEY_LANES) * ROW4 + col];
            for (var i = 0u; i < TH; i++) { s[i * TK + j] = dot_add(s[i * TK + j], q[i], key); }
          }
        }
      }
      workgroupBarrier();
    }
    values = load_values(kp, 0u, lid); // in flight during the reduction and the softmax

    // The slices' tiles summed in rounds: of `live` slices those past `keep` write theirs to a slot and the first
    // `keep` add them, until slice 0 holds the block's scores (FAN slices a round: as many slots as stage holds).
    for (var live = SLICES; live > 1u; live = max(live / FAN, 1u)) {
      let keep = max(live / FAN, 1u);
      if (slice >= keep && slice < live) {
        for (var j = 0u; j < TK; j++) {
          stage[((slice - keep) * KB + kl + j * KEY_LANES) * PS4 + hl] = vec4(s[j], s[TK + j], s[2u * TK + j], s[3u * TK + j]);
        }
      }
      workgroupBarrier();
      if (slice < keep) {
        for (var m = 1u; m < live / keep; m++) {
          for (var j = 0u; j < TK; j++) {
            let part = stage[((slice + (m - 1u) * keep) * KB + kl + j * KEY_LANES) * PS4 + hl];
            for (var i = 0u; i < TH; i++) { s[i * TK + j] += part[i]; }
          }
        }
      }
      workgroupBarrier();
    }
    if (slice == 0u) {
      for (var j = 0u; j < TK; j++) {
        let key = kl + j * KEY_LANES;
        let score = SCALE * vec4(s[j], s[TK + j], s[2u * TK + j], s[3u * TK + j]);
        stage[key * PS4 + hl] = select(vec4(NEG_BIG), score, keyPos[kp + key] != NO_KEY);
      }
    }
    workgroupBarrier();

    // Online softmax: thread (key, 4 heads) finds the 4 heads' block max itself (the block's scores are few), so
    // the probabilities need no barrier between the max and the exponentials.
    if (lid < KB * PS4) {
      let key = lid / PS4;
      let h4 = lid % PS4;
      var top = vec4(NEG_BIG);
      for (var k = 0u; k < KB; k++) { top = max(top, stage[k * PS4 + h4]); }
      let mPrev = headM[mOld + h4];
      let m = max(mPrev, top);
      prob[key * PS4 + h4] = select(vec4(0.0), exp(stage[key * PS4 + h4] - m), keyPos[kp + key] != NO_KEY);
      if (key == 0u) {
        headM[mNew + h4] = m;
        headAlpha[h4] = exp(mPrev - m);
      }
    }
    workgroupBarrier();

    // Values: thread lid owns ô dims lid, lid + WG, … of all HG heads, reads each key's c(u) once for all of them
    // and the key's probabilities as HP / 4 vec4s (the same address across the workgroup).
    if (lid < HG) {
      var sum = 0.0;
      for (var k = 0u; k < KB; k++) { sum += prob[k * PS4 + lid / 4u][lid % 4u]; }
      headL = headL * headAlpha[lid / 4u][lid % 4u] + sum;
    }
    for (var hh = 0u; hh < HG; hh++) {
      let alpha = headAlpha[hh / 4u][hh % 4u];
      for (var j = 0u; j < DPT; j++) { acc[hh * DPT + j] *= alpha; }
    }
    // Masked and missing keys have probability 0 (their rows are read clamped, and add nothing).
    for (var kq = 0u; kq < KB; kq += KEYS_TOGETHER) {
      let v = values;
      if (kq + KEYS_TOGETHER < KB) { values = load_values(kp, kq + KEYS_TOGETHER, lid); }
      for (var q = 0u; q < KEYS_TOGETHER; q++) {
        for (var h4 = 0u; h4 < PS4; h4++) {
          let p = prob[(kq + q) * PS4 + h4];
          for (var e = 0u; e < 4u; e++) {
            let hh = h4 * 4u + e;
            if (hh < HG) {
              for (var j = 0u; j < DPT; j++) { acc[hh * DPT + j] = fma(p[e], v[q * DPT + j], acc[hh * DPT + j]); }
            }
          }
        }
      }
    }
    block++;
  }

  for (var hh = 0u; hh < HG; hh++) {
    if (h0 + hh < NH) {
      let shareBase = ((t * NH + h0 + hh) * SPLITS + z) * SHARE;
      for (var j = 0u; j < DPT; j++) {
        let d = lid + j * WG;
        if (d < RKV) { partials[shareBase + d] = acc[hh * DPT + j]; }
      }
    }
  }
  if (lid < HG && h0 + lid < NH) {
    let shareBase = ((t * NH + h0 + lid) * SPLITS + z) * SHARE;
    partials[shareBase + RKV] = headM[(block % 2u) * PS4 + lid / 4u][lid % 4u];
    partials[shareBase + RKV + 1u] = headL;
  }
}
