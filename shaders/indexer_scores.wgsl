// DSA lightning-indexer scores (deepseek-math.md §6.1 steps 3 and 5): for query row t (absolute position
// p = pos0 + t) and every cached key u ≤ p,
//   scores[t, u] = Σ_j w[t, j] · SCALE · ReLU(ropeHalf(q[t, j], p) · k[u]),   SCALE = NI^−0.5 · DI^−0.5,
// where w = columns DI..DI+NI of key_and_weights and the half-split RoPE of the query's first DR dims is applied
// on the fly while staging (the queries buffer is only read, so the call can be re-encoded safely). Exact zeros
// are written as +0 so that −0 and +0 tie in the top-k. Keys u > p are not written. Rows whose p + 1 ≤ TOPK
// select every key anyway and are skipped.
// Layout: workgroup (x, t) walks key tiles x, x + nx, … of KT = 4·KG keys. The tile's [KT keys × NI heads] dot
// products are a small matrix product over DI, staged DC dims at a time; thread (hg, kg) owns heads 4hg..4hg+3
// (padded with zero heads up to 4·HG) for keys kg, kg + KG, kg + 2KG, kg + 3KG, in four vec4 registers. The
// weighted ReLU sum over heads is reduced across the HG head groups through workgroup memory.
#include "step"

const WG: u32 = HG * KG;
const KT: u32 = 4u * KG;   // keys per tile
const KTP: u32 = KT + 1u;  // padded k_tile row: the transposing store hits distinct banks
const K_PER: u32 = (KT * DC + WG - 1u) / WG; // key floats each thread stages per chunk

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> queries: array<f32>;         // [T, NI, DI] not yet rotated
@group(0) @binding(2) var<storage, read> key_and_weights: array<f32>; // [T, DI + NI]
@group(0) @binding(3) var<storage, read> indexer_cache: array<f32>;   // [MAX_CONTEXT, DI] keys (normed, rotated)
@group(0) @binding(4) var<storage, read> rope_table: array<f32>;      // [positions, DR/2, 2] (cos, sin)
@group(0) @binding(5) var<storage, read_write> scores: array<f32>;    // [T, MAX_CONTEXT]

var<workgroup> q_chunk: array<vec4<f32>, DC * HG>; // rotated q[t, 4hg..4hg+3, d0 + dd] at dd * HG + hg
var<workgroup> k_tile: array<f32, DC * KTP>;       // k[tile key, d0 + dd] at dd * KTP + key
var<workgroup> head_sums: array<f32, KT * HG>;     // Σ over one head group, at key * HG + hg

#include "indexer_query"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = wid.y;
  if (t >= step.rows) { return; }
  let keys = step.pos0 + t + 1u; // causal: keys 0..pos0+t
  if (keys <= TOPK) { return; }
  let hg = lid % HG;
  let kg = lid / HG;
  let w = head_weight_quad(t, hg);

  for (var tile = wid.x; tile * KT < keys; tile += groups.x) {
    let first = tile * KT;
    var dot0 = vec4<f32>(0.0); // heads 4hg..4hg+3 · key kg
    var dot1 = vec4<f32>(0.0); // · key kg + KG
    var dot2 = vec4<f32>(0.0); // · key kg + 2KG
    var dot3 = vec4<f32>(0.0); // · key kg + 3KG
    for (var d0 = 0u; d0 < DI; d0 += DC) {
      workgroupBarrier(); // the previous chunk's readers are done
      for (var i = lid; i < DC * HG; i += WG) {
        let d = d0 + i / HG;
        let h = 4u * (i % HG);
        q_chunk[i] = rotated_query_quad(t, h, d);
      }
      // The tile's keys: all of a thread's K_PER loads issued before any is stored (a loop that stored each load
      // before issuing the next waited a memory latency per key chunk: most of this kernel's time on an H100).
      var kv: array<f32, K_PER>;
      for (var r = 0u; r < K_PER; r++) {
        let i = lid + r * WG;
        let key = i / DC;
        let d = d0 + i % DC;
        let ok = i < KT * DC && first + key < keys && d < DI;
        kv[r] = select(0.0, indexer_cache[select(0u, (first + key) * DI + d, ok)], ok);
      }
      for (var r = 0u; r < K_PER; r++) {
        let i = lid + r * WG;
        if (i < KT * DC) { k_tile[(i % DC) * KTP + i / DC] = kv[r]; }
      }
      workgroupBarrier();
      for (var dd = 0u; dd < DC; dd++) {
        let q = q_chunk[dd * HG + hg];
        let k = dd * KTP + kg;
        dot0 += q * k_tile[k];
        dot1 += q * k_tile[k + KG];
        dot2 += q * k_tile[k + 2u * KG];
        dot3 += q * k_tile[k + 3u * KG];
      }
    }
    let zero = vec4<f32>(0.0);
    head_sums[kg * HG + hg] = dot(w, max(dot0, zero));
    head_sums[(kg + KG) * HG + hg] = dot(w, max(dot1, zero));
    head_sums[(kg + 2u * KG) * HG + hg] = dot(w, max(dot2, zero));
    head_sums[(kg + 3u * KG) * HG + hg] = dot(w, max(dot3, zero));
    workgroupBarrier();
    for (var key = lid; key < KT; key += WG) {
      if (first + key < keys) {
        var total = 0.0;
        for (var h = 0u; h < HG; h++) { total += head_sums[key * HG + h]; }
        total *= SCALE;
        scores[t * MAX_CONTEXT + first + key] = select(total, 0.0, total == 0.0);
      }
    }
  }
}
