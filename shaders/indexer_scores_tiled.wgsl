// DSA lightning-indexer scores, GPU layout (deepseek-math.md §6.1 steps 3 and 5): the same sums as
// indexer_scores.wgsl (which CPU adapters run),
//   scores[t, u] = Σ_j w[t, j] · SCALE · ReLU(ropeHalf(q[t, j], p) · k[u]),   p = pos0 + t, keys u ≤ p,
// exact zeros written as +0, keys u > p not written, rows with p + 1 ≤ TOPK skipped. Needs DI % 4 == 0 (the
// key cache is read as vec4s).
// Layout: thread (kl, s) of KL = WG/S key lanes × S dim slices owns keys first + kl + r·KL (r < R) of a KT = R·KL
// key tile, and vec4 columns s, s + S, … of those keys, all loaded at once into registers (a warp reads whole
// sectors: its S slices of a key are adjacent). The rotated queries and head weights are staged once per
// workgroup, as [dim][4-head quad] vec4s, so each workgroup load feeds 4 heads × R keys of FMAs and the S slices
// of a warp read distinct banks. Heads go in blocks of HQB quads; the S slices' partial dot products are summed
// through workgroup memory, the thread (kl, s) taking quads s, s + S, … for ReLU and weighting, then the S
// partial scores of a key are added. The next tile's keys are loaded before that reduction.
#include "step"

const V: u32 = DI / 4u;              // vec4 columns of a key
const VS: u32 = (V + S - 1u) / S;    // columns a thread holds per key
const VP: u32 = VS * S;              // columns padded to whole slices
const HQ: u32 = HQB * HBLOCKS;       // head quads, padded to whole blocks
const QV: u32 = 4u * HQ + 1u;        // q_s vec4s per column (padded: the S slices' reads hit distinct banks)
const KL: u32 = WG / S;              // key lanes
const KT: u32 = R * KL;              // keys per tile
const RED: u32 = HQB * S + 1u;       // head_parts vec4s per key (padded)

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> queries: array<f32>;            // [T, NI, DI] not yet rotated
@group(0) @binding(2) var<storage, read> key_and_weights: array<f32>;    // [T, DI + NI]
@group(0) @binding(3) var<storage, read> indexer_cache: array<vec4<f32>>; // [MAX_CONTEXT, DI/4] keys (normed, rotated)
@group(0) @binding(4) var<storage, read> rope_table: array<f32>;         // [positions, DR/2, 2] (cos, sin)
@group(0) @binding(5) var<storage, read_write> scores: array<f32>;       // [T, MAX_CONTEXT]

var<workgroup> q_s: array<vec4<f32>, VP * QV>;       // rotated q[t, 4hq..4hq+3, 4v + j] at v·QV + j·HQ + hq
var<workgroup> w_s: array<vec4<f32>, HQ>;            // head weights of quad hq
var<workgroup> head_parts: array<vec4<f32>, KT * RED>; // slice s's dots of tile key k, quad hq at k·RED + hq·S + s
var<workgroup> key_parts: array<f32, KT * S>;        // slice s's weighted ReLU sum of tile key k at k·S + s

#include "indexer_query"

/** The thread's columns of its R keys in `tile` (zeros past the causal limit or the row). */
fn load_keys(tile: u32, keys: u32, kl: u32, s: u32) -> array<vec4<f32>, R * VS> {
  var kv: array<vec4<f32>, R * VS>;
  for (var r = 0u; r < R; r++) {
    let key = tile * KT + r * KL + kl;
    for (var i = 0u; i < VS; i++) {
      let v = s + i * S;
      let ok = key < keys && v < V;
      kv[r * VS + i] = select(vec4<f32>(0.0), indexer_cache[select(0u, key * V + v, ok)], ok);
    }
  }
  return kv;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = wid.y;
  if (t >= step.rows) { return; }
  let keys = step.pos0 + t + 1u; // causal: keys 0..pos0+t
  if (keys <= TOPK || wid.x * KT >= keys) { return; }
  let kl = lid / S;
  let s = lid % S;
  var kv = load_keys(wid.x, keys, kl, s); // in flight while the queries are staged

  for (var i = lid; i < 4u * VP * HQ; i += WG) {
    let d = i % (4u * VP); // consecutive threads read consecutive dims of a head
    let hq = i / (4u * VP);
    q_s[(d / 4u) * QV + (d % 4u) * HQ + hq] = rotated_query_quad(t, 4u * hq, d);
  }
  for (var hq = lid; hq < HQ; hq += WG) { w_s[hq] = head_weight_quad(t, hq); }
  workgroupBarrier();

  for (var tile = wid.x; tile * KT < keys; tile += groups.x) {
    var part = array<f32, R>(); // this thread's weighted ReLU sums over its quads, per key
    for (var hb = 0u; hb < HBLOCKS; hb++) {
      var acc = array<vec4<f32>, R * HQB>(); // quad hq's dots with key r over this thread's columns
      for (var i = 0u; i < VS; i++) {
        let col = (s + i * S) * QV + hb * HQB;
        for (var j = 0u; j < 4u; j++) {
          for (var hq = 0u; hq < HQB; hq++) {
            let q = q_s[col + j * HQ + hq];
            for (var r = 0u; r < R; r++) { acc[r * HQB + hq] += q * kv[r * VS + i][j]; }
          }
        }
      }
      if (hb + 1u == HBLOCKS) { kv = load_keys(tile + groups.x, keys, kl, s); } // the next tile's keys, ahead
      if (hb > 0u) { workgroupBarrier(); } // the previous block's readers are done
      for (var r = 0u; r < R; r++) {
        for (var hq = 0u; hq < HQB; hq++) { head_parts[(r * KL + kl) * RED + hq * S + s] = acc[r * HQB + hq]; }
      }
      workgroupBarrier();
      for (var r = 0u; r < R; r++) {
        let base = (r * KL + kl) * RED;
        for (var hq = s; hq < HQB; hq += S) {
          var dots = vec4<f32>(0.0);
          for (var p = 0u; p < S; p++) { dots += head_parts[base + hq * S + p]; }
          part[r] += dot(w_s[hb * HQB + hq], max(dots, vec4<f32>(0.0)));
        }
      }
    }
    for (var r = 0u; r < R; r++) { key_parts[(r * KL + kl) * S + s] = part[r]; }
    workgroupBarrier();
    let first = tile * KT;
    for (var k = lid; k < KT; k += WG) {
      if (first + k < keys) {
        var total = 0.0;
        for (var p = 0u; p < S; p++) { total += key_parts[k * S + p]; }
        total *= SCALE;
        scores[t * MAX_CONTEXT + first + k] = select(total, 0.0, total == 0.0);
      }
    }
  }
}
