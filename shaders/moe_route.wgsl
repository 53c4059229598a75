// MoE router: picks TOP_K of N_EXPERTS experts per token row and their combination weights, from the f32 router
// logits (deepseek-math.md §5), or with FUSED_GATE from x and mlp.gate.weight (the logits computed here: one
// dispatch instead of two per MoE layer). One workgroup of WG threads per row; all scores live in workgroup memory.
// Latency, not bandwidth, decides its time in decode (one workgroup, one row): every phase issues its loads
// together and the phases after the logits are serial scans over E in workgroup memory, with few barriers.
// Variants (compile-time):
//   SOFTMAX (V2):  p = softmax(logits); selection and weight scores are both p; weight = p · SCALE.
//   otherwise (V3/V3.2 "noaux_tc"): σ = sigmoid(logits), selection b = σ + bias (HAS_BIAS; else b = σ);
//                  weight = σ (unbiased), renormalised by (Σ selected σ + 1e-20) when NORM_TOPK, then · SCALE.
//   GROUPED: experts form N_GROUP contiguous groups of GROUP_SIZE; a group scores max p (SOFTMAX) or the sum of
//            its two largest b (a one-expert group: its only b); the TOPK_GROUP best groups are kept and experts
//            of the other groups rank below every kept expert (HF's −∞ fill; for V2 HF fills 0.0, which only
//            differs if the kept groups hold fewer than TOP_K experts — then a dropped expert weighs 0, as in HF;
//            V3 takes a dropped expert's σ, as HF's gather from the unbiased scores does).
// Selection is a rank count rather than k passes: an expert's rank is the number of experts that beat it
// (higher score, or equal score and lower index), so ties go to the lower index and ranks are unique.
// Outputs are written in rank order (best first).
// NORM_INPUT (with FUSED_GATE): x is the residual stream; the workgroup applies the post-attention RMSNorm itself
// (common/input_norm.wgsl), uses the normed row for the gate and writes it to `normed` for the expert kernels.
#include "step"

const GROUP_SIZE: u32 = N_EXPERTS / N_GROUP;

@group(0) @binding(0) var<uniform> step: Step;
#ifdef FUSED_GATE
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;             // [T, H/4] the normed hidden state
@group(0) @binding(GATE_BINDING) var<storage, read> gate4: array<vec4<f32>>; // [N_EXPERTS, H/4] mlp.gate.weight
#ifdef NORM_INPUT
@group(0) @binding(NORM_BINDING) var<storage, read> norm_w4: array<vec4<f32>>;          // [H / 4] norm weight
@group(0) @binding(NORM_BINDING + 1) var<storage, read_write> normed4: array<vec4<f32>>; // [T, H / 4] out
#endif
#else
@group(0) @binding(1) var<storage, read> logits: array<f32>;               // [T, N_EXPERTS] router logits
#endif
@group(0) @binding(2) var<storage, read_write> expert_ids: array<u32>;     // [T, TOP_K] selected experts
@group(0) @binding(3) var<storage, read_write> expert_weights: array<f32>; // [T, TOP_K] their weights
#ifdef HAS_BIAS
@group(0) @binding(4) var<storage, read> score_bias: array<f32>;           // [N_EXPERTS] e_score_correction_bias
#endif

var<workgroup> logit_row: array<f32, N_EXPERTS>;       // the row's router logits
var<workgroup> weight_score: array<f32, N_EXPERTS>;    // σ (V3): what the weights come from; V2: exp(logit − max)
var<workgroup> select_score: array<f32, N_EXPERTS>;    // what the choice is made on: p (V2, also the weights), σ + bias (V3)
var<workgroup> group_score: array<f32, N_GROUP>;
var<workgroup> group_kept: array<u32, N_GROUP>;
var<workgroup> chosen_weight: array<f32, TOP_K>;
#ifdef FUSED_GATE
// FUSED_GATE: the router logits gate·x are computed here instead of by a separate matrix-vector dispatch.
// GATE_LANES threads share an expert's dot product (thread lid: lane lid % GATE_LANES of expert slot
// lid / GATE_LANES; consecutive lanes read consecutive vec4s of the gate row), each holding GATE_BATCH of its vec4s
// in registers at a time, GATE_BATCHES batches in all. The first batch is loaded before the norm, so its memory
// latency overlaps the norm's; with the whole row in one batch (V2-Lite on a GPU layout) the gate weights cost one
// memory round trip. Lane sums are added per expert in lane order (gate_partial is [lane][expert]: the adding
// threads read consecutive words).
const GATE_SLOTS: u32 = WG / GATE_LANES; // experts whose dot products run at once
var<workgroup> gate_partial: array<f32, GATE_LANES * N_EXPERTS>; // [lane][expert]
#ifdef NORM_INPUT
#include "workgroup_sum"
#include "input_norm"
#endif

fn gate_x4(t: u32, i: u32) -> vec4<f32> {
#ifdef NORM_INPUT
  return normed_x4(t, i);
#else
  return x4[t * (H / 4u) + i];
#endif
}

// Vector q of batch b of the lane: index lane + (b · GATE_BATCH + q) · GATE_LANES of a gate row (may be ≥ H / 4).
fn gate_index(lane: u32, b: u32, q: u32) -> u32 {
  return lane + (b * GATE_BATCH + q) * GATE_LANES;
}

// Batch b of expert e's gate row for the lane, all loads issued together (indices past the row are clamped; their
// products are dropped in gate_batch_dot).
fn load_gate_batch(e: u32, lane: u32, b: u32) -> array<vec4<f32>, GATE_BATCH> {
  var ws: array<vec4<f32>, GATE_BATCH>;
  for (var q = 0u; q < GATE_BATCH; q++) { ws[q] = gate4[e * (H / 4u) + min(gate_index(lane, b, q), H / 4u - 1u)]; }
  return ws;
}

fn gate_batch_dot(t: u32, lane: u32, b: u32, ws: array<vec4<f32>, GATE_BATCH>) -> f32 {
  var acc = 0.0;
  for (var q = 0u; q < GATE_BATCH; q++) {
    let i = gate_index(lane, b, q);
    acc += select(0.0, dot(gate_x4(t, min(i, H / 4u - 1u)), ws[q]), i < H / 4u);
  }
  return acc;
}

// Router logits of row t into logit_row (ends with a barrier; uniform control flow).
fn compute_logits(t: u32, lid: u32) {
  let lane = lid % GATE_LANES;
  let slot = lid / GATE_LANES;
  var ws = load_gate_batch(min(slot, N_EXPERTS - 1u), lane, 0u); // in flight during the norm
#ifdef NORM_INPUT
  input_norm(t, lid, true);
#endif
  for (var e = slot; e < N_EXPERTS; e += GATE_SLOTS) {
    var acc = 0.0;
    for (var b = 0u; b < GATE_BATCHES; b++) {
      if (e != slot || b != 0u) { ws = load_gate_batch(e, lane, b); }
      acc += gate_batch_dot(t, lane, b, ws);
    }
    gate_partial[lane * N_EXPERTS + e] = acc;
  }
  workgroupBarrier();
  for (var e = lid; e < N_EXPERTS; e += WG) {
    var sum = 0.0;
    for (var l = 0u; l < GATE_LANES; l++) { sum += gate_partial[l * N_EXPERTS + e]; }
    logit_row[e] = sum;
  }
  workgroupBarrier();
}
#else
// Router logits of row t into logit_row (ends with a barrier).
fn compute_logits(t: u32, lid: u32) {
  for (var e = lid; e < N_EXPERTS; e += WG) { logit_row[e] = logits[t * N_EXPERTS + e]; }
  workgroupBarrier();
}
#endif

fn expert_kept(e: u32) -> bool {
#ifdef GROUPED
  return group_kept[e / GROUP_SIZE] != 0u;
#else
  return true;
#endif
}

// True when expert a ranks above expert b.
fn expert_beats(a: u32, b: u32) -> bool {
  let kept_a = expert_kept(a);
  let kept_b = expert_kept(b);
  if (kept_a != kept_b) { return kept_a; }
  let sa = select_score[a];
  let sb = select_score[b];
  return sa > sb || (sa == sb && a < b);
}

#ifdef GROUPED
fn score_group(g: u32) -> f32 {
  let first = g * GROUP_SIZE;
#ifdef SOFTMAX
  var best = select_score[first];
  for (var i = 1u; i < GROUP_SIZE; i++) { best = max(best, select_score[first + i]); }
  return best;
#else
  if (GROUP_SIZE == 1u) { return select_score[first]; }
  var top1 = max(select_score[first], select_score[first + 1u]);
  var top2 = min(select_score[first], select_score[first + 1u]);
  for (var i = 2u; i < GROUP_SIZE; i++) {
    let v = select_score[first + i];
    if (v > top1) { top2 = top1; top1 = v; } else if (v > top2) { top2 = v; }
  }
  return top1 + top2;
#endif
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  if (t >= step.rows) { return; }
  compute_logits(t, lid);

#ifdef SOFTMAX
  // Max and sum over the row's E logits by every thread in index order (E is small: this replaces two tree
  // reductions' log2(WG) barriers each).
  var row_max = logit_row[0];
  for (var e = 1u; e < N_EXPERTS; e++) { row_max = max(row_max, logit_row[e]); }
  for (var e = lid; e < N_EXPERTS; e += WG) { weight_score[e] = exp(logit_row[e] - row_max); }
  workgroupBarrier();
  var row_sum = 0.0;
  for (var e = 0u; e < N_EXPERTS; e++) { row_sum += weight_score[e]; }
  let inv_sum = 1.0 / row_sum;
  for (var e = lid; e < N_EXPERTS; e += WG) { select_score[e] = weight_score[e] * inv_sum; }
#else
  for (var e = lid; e < N_EXPERTS; e += WG) {
    let s = 1.0 / (1.0 + exp(-logit_row[e]));
    weight_score[e] = s;
#ifdef HAS_BIAS
    select_score[e] = s + score_bias[e];
#else
    select_score[e] = s;
#endif
  }
#endif
  workgroupBarrier();

#ifdef GROUPED
  if (lid < N_GROUP) { group_score[lid] = score_group(lid); }
  workgroupBarrier();
  if (lid < N_GROUP) {
    var better = 0u;
    let mine = group_score[lid];
    for (var g = 0u; g < N_GROUP; g++) {
      let other = group_score[g];
      if (other > mine || (other == mine && g < lid)) { better++; }
    }
    group_kept[lid] = select(0u, 1u, better < TOPK_GROUP);
  }
  workgroupBarrier();
#endif

  for (var e = lid; e < N_EXPERTS; e += WG) {
    var rank = 0u;
    for (var other = 0u; other < N_EXPERTS && rank < TOP_K; other++) {
      if (expert_beats(other, e)) { rank++; }
    }
    if (rank < TOP_K) {
      expert_ids[t * TOP_K + rank] = e;
#ifdef SOFTMAX
      chosen_weight[rank] = select(0.0, select_score[e], expert_kept(e)); // HF weighs the 0-filled p
#else
      chosen_weight[rank] = weight_score[e];
#endif
    }
  }
  workgroupBarrier();

  if (lid < TOP_K) {
    var w = chosen_weight[lid];
#ifdef NORM_TOPK
    var total = 0.0;
    for (var i = 0u; i < TOP_K; i++) { total += chosen_weight[i]; }
    w = w / (total + 1e-20);
#endif
    expert_weights[t * TOP_K + lid] = w * SCALE;
  }
}
