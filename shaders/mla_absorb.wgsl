// The two kv_b_proj products of weight-absorbed MLA (deepseek-math.md §3.3), per token row t and head h, with
// head h's block of kv_b_proj = rows [h(DN+DV), (h+1)(DN+DV)): W_UK_h its first DN rows, W_UV_h the next DV.
// Variants (booleans): WEIGHT_F16 (kvB stored as f16 pairs, see common/weights.wgsl) and
//   default  — query absorption: qAbs[t,h, 0:RKV]      = W_UK_hᵀ · q[t,h, 0:DN]
//                                qAbs[t,h, RKV:RKV+DR] = ropeAdjacent(q[t,h, DN:DN+DR], pos0 + t)
//              One workgroup per (head, tile of TT rows, block of PW column pairs of W_UK_h); DSPLIT threads per
//              pair split its DN rows (then sum through workgroup memory), so every weight word is read once per
//              tile, consecutive threads read consecutive words, and a decode row still spreads over many threads.
//              APPEND: the latent-cache append of the same rows rides in the same dispatch (§3.1 steps 2-3): the
//              extra workgroups h = NH (first column block) write, for each row t of their tile at p = pos0 + t,
//                latentCache[p, 0:RKV]      = RMSNorm(kva[t, 0:RKV]) ⊙ kvNorm   (kv_a_layernorm: the latent only)
//                latentCache[p, RKV:RKV+DR] = ropeAdjacent(kva[t, RKV:RKV+DR], p) (kR: rotated, not normed)
//              skipping rows whose position falls outside the cache (CACHE_ROWS). The attention reads the cache
//              only in the next dispatch, so nothing here waits for the append.
//              INDEXER_APPEND (V3.2, with APPEND): the workgroups h = NH + 1 (first column block) also cache each
//              row's DSA indexer key (common/indexer_key_row.wgsl), which the indexer's scores read next.
//   VALUE_UP — value up-projection: out[t, h*DV + i] = Σ_j W_UV_h[i, j] · attnLatent[t,h,j]
//              A matvec over rows of W_UV: each workgroup takes ROWS output rows × a tile of TT token rows,
//              LANES = WG/ROWS threads per output row stride over its RKV columns, then a shared-memory reduction.
// GPU steps of many rows (prefill chunks) run both products as tiled matrix products instead: mla_absorb_tiled.wgsl.
#include "step"
#include "weights"

const HEAD_ROWS: u32 = DN + DV;       // rows of kv_b_proj per head
const PAIRS: u32 = (RKV + 1u) / 2u;   // column pairs of a kv_b_proj row (the last one half-empty when RKV is odd)
const BATCH: u32 = 8u;                // weight loads issued together per thread

@group(0) @binding(0) var<uniform> step: Step;
#ifdef WEIGHT_F16
@group(0) @binding(2) var<storage, read> kvB: array<u32>;   // [NH*(DN+DV), ceil(RKV/2)] f16 pairs
#else
@group(0) @binding(2) var<storage, read> kvB: array<f32>;   // [NH*(DN+DV), RKV]
#endif

#ifndef VALUE_UP
const DQK: u32 = DN + DR;
const QABS_WIDTH: u32 = RKV + DR;
const HALF: u32 = DR / 2u;

@group(0) @binding(1) var<storage, read> q: array<f32>;             // [T, NH, DN + DR] (RoPE not yet applied)
@group(0) @binding(3) var<storage, read> ropeTable: array<f32>;     // [positions, DR/2, 2] (cos, sin)
@group(0) @binding(4) var<storage, read_write> qAbs: array<f32>;    // [T, NH, RKV + DR]
#include "mla_rope"

#ifdef APPEND
@group(0) @binding(5) var<storage, read> kva: array<f32>;               // [T, RKV + DR] kv_a_proj_with_mqa output
@group(0) @binding(6) var<storage, read> kvNorm: array<f32>;            // [RKV] kv_a_layernorm
@group(0) @binding(7) var<storage, read_write> latentCache: array<f32>; // [CACHE_ROWS, RKV + DR]
#include "workgroup_sum"

const WIDTH: u32 = RKV + DR;        // one cached token: [c ; kR]
const APPEND_PER: u32 = (RKV + WG - 1u) / WG;

// Row t of the step into the latent cache. Uniform control flow (t is the workgroup's).
fn append_row(t: u32, lid: u32) {
  let pos = step.pos0 + t;
  if (pos >= CACHE_ROWS) { return; }
  let src = t * WIDTH;
  let dst = pos * WIDTH;
  var v: array<f32, APPEND_PER>; // loaded together (one at a time, each would wait a memory latency)
  for (var r = 0u; r < APPEND_PER; r++) { v[r] = kva[src + min(lid + r * WG, RKV - 1u)]; }
  var sum = 0.0;
  for (var r = 0u; r < APPEND_PER; r++) { sum += select(0.0, v[r] * v[r], lid + r * WG < RKV); }
  let inv = inverseSqrt(workgroup_sum(lid, sum) / f32(RKV) + EPS);
  for (var r = 0u; r < APPEND_PER; r++) {
    let i = lid + r * WG;
    if (i < RKV) { latentCache[dst + i] = kvNorm[i] * (v[r] * inv); }
  }
  append_key_rope(src, dst, pos, lid, WG);
}
#endif
#ifdef INDEXER_APPEND
#include "indexer_key_row"
#endif

var<workgroup> qNope: array<f32, TT * DN>; // the tile's qN rows of head h
#ifdef SLICES
var<workgroup> slicePartial: array<vec2<f32>, WG * TT>; // [slice][tt][column pair of this workgroup]
#endif
const PW: u32 = WG / DSPLIT; // column pairs per workgroup; DSPLIT threads share each pair's DN rows

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t0 = wid.y * TT;
  if (t0 >= step.rows) { return; }
  let nT = min(TT, step.rows - t0);
#ifdef APPEND
  if (h == NH) { // uniform: the append workgroups
    if (wid.z == 0u) {
      for (var tt = 0u; tt < nT; tt++) { append_row(t0 + tt, lid); }
    }
    return;
  }
#endif
#ifdef INDEXER_APPEND
  if (h == NH + 1u) { // uniform: the indexer key workgroups
    if (wid.z == 0u) {
      for (var tt = 0u; tt < nT; tt++) { indexer_key_row(t0 + tt, lid); }
    }
    return;
  }
#endif
  for (var i = lid; i < nT * DN; i += WG) {
    let tt = i / DN;
    qNope[i] = q[((t0 + tt) * NH + h) * DQK + i % DN];
  }
  workgroupBarrier();

  let slice = lid / PW;
  let pc = lid % PW;
  let p = wid.z * PW + pc;
  var acc: array<vec2<f32>, TT>;
  if (p < PAIRS) {
    // BATCH rows' weight loads in flight at a time (one at a time, each waited a memory latency).
    for (var d0 = slice; d0 < DN; d0 += BATCH * DSPLIT) {
      var w: array<vec2<f32>, BATCH>;
      for (var q = 0u; q < BATCH; q++) {
        w[q] = weight_pair(&kvB, (h * HEAD_ROWS + min(d0 + q * DSPLIT, DN - 1u)) * ROW_STRIDE, 2u * p);
      }
      for (var q = 0u; q < BATCH; q++) {
        let d = d0 + q * DSPLIT;
        if (d < DN) {
          for (var tt = 0u; tt < nT; tt++) { acc[tt] += w[q] * qNope[tt * DN + d]; }
        }
      }
    }
  }
#ifdef SLICES
  for (var tt = 0u; tt < TT; tt++) { slicePartial[(slice * TT + tt) * PW + pc] = acc[tt]; }
  workgroupBarrier();
  if (slice == 0u) {
    for (var s = 1u; s < DSPLIT; s++) {
      for (var tt = 0u; tt < TT; tt++) { acc[tt] += slicePartial[(s * TT + tt) * PW + pc]; }
    }
  }
#endif
  if (slice == 0u && p < PAIRS) {
    for (var tt = 0u; tt < nT; tt++) {
      let dst = ((t0 + tt) * NH + h) * QABS_WIDTH + 2u * p;
      qAbs[dst] = acc[tt].x;
      if (2u * p + 1u < RKV) { qAbs[dst + 1u] = acc[tt].y; }
    }
  }
  if (wid.z != 0u) { return; } // the first column block also rotates qR
  rotate_query(h, t0, nT, lid);
}
#else
const LANES: u32 = WG / ROWS;
const OUT_WIDTH: u32 = NH * DV;

@group(0) @binding(1) var<storage, read> attnLatent: array<f32>;     // [T, NH, RKV] ô
@group(0) @binding(3) var<storage, read_write> out: array<f32>;      // [T, NH*DV]

var<workgroup> partial: array<f32, TT * WG>; // [TT][WG] per-thread partial sums

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t0 = wid.y * TT;
  if (t0 >= step.rows) { return; }
  let nT = min(TT, step.rows - t0);
  let lane = lid % LANES;
  let o = wid.x * ROWS + lid / LANES; // output column h*DV + i
  let h = o / DV;
  let rowBase = (h * HEAD_ROWS + DN + o % DV) * ROW_STRIDE;

  var acc: array<f32, TT>;
  if (o < OUT_WIDTH) {
    // BATCH column pairs' weight loads in flight at a time.
    for (var p0 = lane; p0 < PAIRS; p0 += BATCH * LANES) {
      var w: array<vec2<f32>, BATCH>;
      for (var q = 0u; q < BATCH; q++) { w[q] = weight_pair(&kvB, rowBase, 2u * min(p0 + q * LANES, PAIRS - 1u)); }
      for (var q = 0u; q < BATCH; q++) {
        let p = p0 + q * LANES;
        if (p < PAIRS) {
          for (var tt = 0u; tt < nT; tt++) {
            let a = (t0 + tt) * NH * RKV + h * RKV + 2u * p;
            var s = w[q].x * attnLatent[a];
            if (2u * p + 1u < RKV) { s += w[q].y * attnLatent[a + 1u]; }
            acc[tt] += s;
          }
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
  if (lane == 0u && o < OUT_WIDTH) {
    for (var tt = 0u; tt < nT; tt++) { out[(t0 + tt) * OUT_WIDTH + o] = partial[tt * WG + lid]; }
  }
}
#endif
