// Token sampling from the LAST row (t = rows − 1) of the step's logits [T, VOCAB], all in one workgroup, in the
// order transformers applies it: repetition penalty → temperature → top-k → top-p → draw.
//  1. Marks this step's fed ids (token_ids[0..rows)) in the `seen` bitmap: every token put into the cache is seen.
//  2. Penalised logit x' = x / p if x > 0 else x · p for seen ids (HF's RepetitionPenaltyLogitsProcessor).
//  3. Top-k of x' (K ≤ WG, ties towards the lower id) by an MSB-first radix select over the order-preserving u32
//     key of x': 4 rounds of 8-bit digits (256 bins, one per thread), then an ordered compaction over contiguous
//     per-thread id ranges and a bitonic sort of the K candidates by (value desc, id asc).
//  4. Thread 0: temperature 0 → candidate 0 (argmax). Else p_i = exp((x'_i − x'_0) / T); keep the smallest prefix
//     whose probability mass before i is < top_p · Σp; draw u from a PCG hash of (seed, step) and walk the prefix.
// The chosen id goes to token_ids[0] (the next decode step's embedding input) and to `sampled` (the readback).
// `mark` is the entry for prompt chunks that sample nothing: it only does step 1.
#include "step"

const NONE: u32 = 0xffffffffu;
const LOWEST: f32 = -0x1.fffffep+127f; // lowest finite f32

struct Settings {
  temperature: f32, // 0 = greedy
  top_p: f32,       // 1 = off
  top_k: u32,       // 1..WG (0 is mapped to WG on the CPU)
  penalty: f32,     // 1 = off
  seed: u32,
  counter: u32,     // draw number within the seed's stream
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> settings: Settings;
@group(0) @binding(2) var<storage, read> logits: array<f32>;            // [T, VOCAB]
@group(0) @binding(3) var<storage, read_write> seen: array<atomic<u32>>; // [ceil(VOCAB / 32)] bitmap
@group(0) @binding(4) var<storage, read_write> token_ids: array<u32>;    // [maxRows] embedding input
@group(0) @binding(5) var<storage, read_write> sampled: array<u32>;      // [1] readback

var<workgroup> histogram: array<atomic<u32>, WG>;
var<workgroup> scan: array<u32, WG>;
var<workgroup> scan2: array<u32, WG>;
var<workgroup> cand_value: array<f32, WG>;
var<workgroup> cand_index: array<u32, WG>;
var<workgroup> chosen_digit: u32;
var<workgroup> chosen_above: u32;

fn mark_rows(lid: u32) {
  for (var t = lid; t < step.rows; t += WG) {
    let id = token_ids[t];
    if (id < VOCAB) { atomicOr(&seen[id >> 5u], 1u << (id & 31u)); }
  }
}

@compute @workgroup_size(WG)
fn mark(@builtin(local_invocation_index) lid: u32) {
  mark_rows(lid);
}

/** Penalised logit of id i; NaN becomes the lowest finite value so it never wins. */
fn penalised(row: u32, i: u32) -> f32 {
  var x = logits[row + i];
  if (x != x) { x = LOWEST; }
  if (settings.penalty != 1.0 && (atomicLoad(&seen[i >> 5u]) & (1u << (i & 31u))) != 0u) {
    x = select(x * settings.penalty, x / settings.penalty, x > 0.0);
  }
  return x;
}

/** Monotone map f32 → u32 (a < b ⇔ key(a) < key(b)); −0 folded onto +0. */
fn order_key(value: f32) -> u32 {
  let bits = bitcast<u32>(select(value, 0.0, value == 0.0));
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

/** Inclusive scan of scan[] (suffix sums when !forward) and of scan2[] (forward only when both). */
fn scan_inclusive(lid: u32, forward: bool, both: bool) {
  for (var offset = 1u; offset < WG; offset *= 2u) {
    var add = 0u;
    var add2 = 0u;
    if (forward && lid >= offset) { add = scan[lid - offset]; add2 = scan2[lid - offset]; }
    if (!forward && lid + offset < WG) { add = scan[lid + offset]; }
    workgroupBarrier();
    scan[lid] += add;
    if (both) { scan2[lid] += add2; }
    workgroupBarrier();
  }
}

/** (a, ia) comes before (b, ib): larger value first, then lower id; empty slots last. */
fn before(a: f32, ia: u32, b: f32, ib: u32) -> bool {
  if (ia == NONE) { return false; }
  if (ib == NONE) { return true; }
  return a > b || (a == b && ia < ib);
}

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

/**
 * The k-th largest order key of the row (radix select, MSB first: prefix/mask grow by 8 bits per round) and how
 * many keys equal to it are still to be taken. All threads must call it.
 */
fn select_threshold(lid: u32, row: u32, k: u32) -> vec2<u32> {
  var prefix = 0u;
  var mask = 0u;
  var remaining = k;
  for (var round = 0u; round < 4u; round++) {
    let shift = 24u - 8u * round;
    atomicStore(&histogram[lid], 0u);
    workgroupBarrier();
    // Four strided logits at a time: their loads are in flight together instead of one memory latency each.
    for (var i0 = lid; i0 < VOCAB; i0 += 4u * WG) {
      var keys: array<u32, 4>;
      for (var q = 0u; q < 4u; q++) { keys[q] = order_key(penalised(row, min(i0 + q * WG, VOCAB - 1u))); }
      for (var q = 0u; q < 4u; q++) {
        if (i0 + q * WG < VOCAB && (keys[q] & mask) == prefix) { atomicAdd(&histogram[(keys[q] >> shift) & 0xffu], 1u); }
      }
    }
    workgroupBarrier();
    scan[lid] = atomicLoad(&histogram[lid]);
    workgroupBarrier();
    scan_inclusive(lid, false, false);
    let here = scan[lid];
    let after = select(0u, scan[min(lid + 1u, WG - 1u)], lid + 1u < WG);
    if (here >= remaining && after < remaining) { chosen_digit = lid; chosen_above = after; }
    workgroupBarrier();
    remaining -= chosen_above;
    prefix |= chosen_digit << shift;
    mask |= 0xffu << shift;
    workgroupBarrier();
  }
  return vec2<u32>(prefix, remaining);
}

/**
 * Ordered compaction over contiguous id ranges into cand_*[0..k): every key above the threshold, then the lowest-id
 * keys equal to it; slots past k stay empty. All threads must call it.
 */
fn gather_candidates(lid: u32, row: u32, k: u32, threshold: u32, above_total: u32) {
  let chunk = (VOCAB + WG - 1u) / WG;
  let lo = min(lid * chunk, VOCAB);
  let hi = min(lo + chunk, VOCAB);
  var n_above = 0u;
  var n_equal = 0u;
  for (var i = lo; i < hi; i++) {
    let key = order_key(penalised(row, i));
    if (key > threshold) { n_above++; } else if (key == threshold) { n_equal++; }
  }
  scan[lid] = n_above;
  scan2[lid] = n_equal;
  cand_value[lid] = LOWEST;
  cand_index[lid] = NONE;
  workgroupBarrier();
  scan_inclusive(lid, true, true);
  var slot_above = scan[lid] - n_above;
  var slot_equal = above_total + scan2[lid] - n_equal;
  for (var i = lo; i < hi; i++) {
    let x = penalised(row, i);
    let key = order_key(x);
    if (key > threshold) {
      cand_value[slot_above] = x; cand_index[slot_above] = i; slot_above++;
    } else if (key == threshold && slot_equal < k) {
      cand_value[slot_equal] = x; cand_index[slot_equal] = i; slot_equal++;
    }
  }
  workgroupBarrier();
}

/** Bitonic sort of the WG candidate slots by before(). All threads must call it. */
fn sort_candidates(lid: u32) {
  for (var size = 2u; size <= WG; size *= 2u) {
    for (var j = size / 2u; j > 0u; j /= 2u) {
      let partner = lid ^ j;
      if (partner > lid) {
        let ascending = (lid & size) == 0u;
        let a = cand_value[lid]; let ia = cand_index[lid];
        let b = cand_value[partner]; let ib = cand_index[partner];
        if (before(b, ib, a, ia) == ascending) {
          cand_value[lid] = b; cand_index[lid] = ib;
          cand_value[partner] = a; cand_index[partner] = ia;
        }
      }
      workgroupBarrier();
    }
  }
}

/** Temperature, top-p over the k sorted candidates and the seeded draw (one thread, sequential sums). */
fn draw(k: u32) -> u32 {
  if (settings.temperature <= 0.0) { return cand_index[0]; }
  let top = cand_value[0] / settings.temperature;
  var total = 0.0;
  for (var i = 0u; i < k; i++) { total += exp(cand_value[i] / settings.temperature - top); }
  // Keep the smallest prefix whose mass reaches top_p of the total (HF TopPLogitsWarper; at least one).
  var kept = 0u;
  var kept_mass = 0.0;
  let limit = settings.top_p * total;
  for (var i = 0u; i < k; i++) {
    if (i > 0u && kept_mass >= limit) { break; }
    kept_mass += exp(cand_value[i] / settings.temperature - top);
    kept = i + 1u;
  }
  let u = f32(pcg(settings.seed ^ pcg(settings.counter)) >> 8u) * (1.0 / 16777216.0);
  let target_mass = u * kept_mass;
  var acc = 0.0;
  for (var i = 0u; i < kept; i++) {
    acc += exp(cand_value[i] / settings.temperature - top);
    if (acc > target_mass) { return cand_index[i]; }
  }
  return cand_index[kept - 1u];
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  if (step.rows == 0u) { return; }
  mark_rows(lid);
  storageBarrier();
  workgroupBarrier();
  let row = (step.rows - 1u) * VOCAB;
  let k = min(clamp(settings.top_k, 1u, WG), VOCAB);
  let threshold = select_threshold(lid, row, k);
  gather_candidates(lid, row, k, threshold.x, k - threshold.y);
  sort_candidates(lid);
  if (lid == 0u) {
    let chosen = draw(k);
    token_ids[0] = chosen;
    sampled[0] = chosen;
  }
}
