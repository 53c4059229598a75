// Token sampling from the LAST row (t = rows − 1) of the step's logits [T, VOCAB], in the order transformers
// applies it: repetition penalty → temperature → top-k → top-p → draw. Two dispatches:
//  `slice_top` (GROUPS workgroups): workgroup g takes the SLICE = WG·PER logits from g·SLICE, thread lid the PER
//     contiguous ids from g·SLICE + lid·PER, held in registers. Penalised logit x' = x / p if x > 0 else x · p for
//     seen ids (HF's RepetitionPenaltyLogitsProcessor; seen = the `seen` bitmap plus this step's fed ids
//     token_ids[0..rows), which `main` only marks afterwards). The slice's top-k of x' by (value desc, id asc)
//     goes to cand_value / cand_index[g·k ..): an MSB-first radix select over the order-preserving u32 key of x'
//     (4 rounds of 8-bit digits, 256 bins, one per thread), then an ordered compaction (above the threshold, then
//     the lowest ids equal to it). Slots past the slice's own count hold NONE.
//  `main` (one workgroup): marks the fed ids in `seen`, then the same select over the GROUPS·k candidates (the
//     union of each slice's top-k holds the row's top-k, and the candidates of one key value sit in id order; with
//     ONE_SLICE, a row of at most WG·PER logits, over the penalised row itself, and no `slice_top` dispatch),
//     a bitonic sort of the k winners, and thread 0's draw: temperature 0 → candidate 0 (argmax). Else
//     p_i = exp((x'_i − x'_0) / T); keep the smallest prefix whose mass before i is < top_p · Σp; draw u from a
//     PCG hash of (seed, step) and walk the prefix. The chosen id goes to token_ids[0] (the next decode step's
//     embedding input) and to `sampled` (the readback).
// (One workgroup over the whole row, as before, took a few hundred µs of an H100 decode step: 400 logits a thread
// per round, the compaction's loops serial in them, and every logit's histogram add on a handful of bins.)
// `mark` is the entry for prompt chunks that sample nothing: it only marks the fed ids.
#include "step"

const NONE: u32 = 0xffffffffu;
const LOWEST: f32 = -0x1.fffffep+127f; // lowest finite f32
const EMPTY: u32 = 0u;                 // order key no value has (NaN is LOWEST by then): an empty position
const SLICE: u32 = WG * PER;           // logits a `slice_top` workgroup takes (a multiple of 32)
const GROUPS: u32 = (VOCAB + SLICE - 1u) / SLICE; // `slice_top` workgroups; ≤ PER, so `main` holds GROUPS·WG keys

struct Settings {
  temperature: f32, // 0 = greedy
  top_p: f32,       // 1 = off
  top_k: u32,       // 1..WG (0 is mapped to WG on the CPU, greedy to 1)
  penalty: f32,     // 1 = off
  seed: u32,
  counter: u32,     // draw number within the seed's stream
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> settings: Settings;
@group(0) @binding(2) var<storage, read> logits: array<f32>;             // [T, VOCAB]
@group(0) @binding(3) var<storage, read_write> seen: array<atomic<u32>>;  // [ceil(VOCAB / 32)] bitmap
@group(0) @binding(4) var<storage, read_write> token_ids: array<u32>;     // [maxRows] embedding input
@group(0) @binding(5) var<storage, read_write> sampled: array<u32>;       // [1] readback
@group(0) @binding(6) var<storage, read_write> cand_value: array<f32>;    // [GROUPS · WG] each slice's top-k
@group(0) @binding(7) var<storage, read_write> cand_index: array<u32>;    // [GROUPS · WG]

var<workgroup> histogram: array<atomic<u32>, WG>;
var<workgroup> scan: array<u32, WG>;
var<workgroup> scan2: array<u32, WG>;
var<workgroup> top_value: array<f32, WG>;
var<workgroup> top_index: array<u32, WG>;
var<workgroup> slice_seen: array<atomic<u32>, SLICE / 32u>;
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

/**
 * An id's logit, penalised when `penalise` (the penalty is on and the id seen: callers test the bitmap only when
 * the penalty is on); NaN becomes the lowest finite value so it never wins.
 */
fn penalised(logit: f32, penalise: bool) -> f32 {
  var x = logit;
  if (x != x) { x = LOWEST; }
  if (penalise) { x = select(x * settings.penalty, x / settings.penalty, x > 0.0); }
  return x;
}

/** Monotone map f32 → u32 (a < b ⇔ key(a) < key(b)); −0 folded onto +0. Never EMPTY for a non-NaN value. */
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

/**
 * The k-th largest of the workgroup's keys (EMPTY positions excluded) and how many keys equal to it are still to
 * be taken (radix select, MSB first: prefix/mask grow by 8 bits per round). All threads must call it.
 */
fn select_threshold(lid: u32, keys: ptr<function, array<u32, PER>>, k: u32) -> vec2<u32> {
  var prefix = 0u;
  var mask = 0u;
  var remaining = k;
  for (var round = 0u; round < 4u; round++) {
    let shift = 24u - 8u * round;
    atomicStore(&histogram[lid], 0u);
    workgroupBarrier();
    // A thread's keys are neighbours in the row and mostly share the high digits: one add per run of a digit.
    var run_digit = NONE;
    var run = 0u;
    for (var j = 0u; j < PER; j++) {
      let key = (*keys)[j];
      if (key != EMPTY && (key & mask) == prefix) {
        let digit = (key >> shift) & 0xffu;
        if (digit != run_digit) {
          if (run > 0u) { atomicAdd(&histogram[run_digit], run); }
          run_digit = digit;
          run = 0u;
        }
        run++;
      }
    }
    if (run > 0u) { atomicAdd(&histogram[run_digit], run); }
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
 * Ordered compaction of the workgroup's top k (threshold = select_threshold's) into slots [0, k): every key above
 * the threshold, then the lowest-position keys equal to it, positions in thread order. Slot s goes to
 * cand_*[out + s] when `to_memory`, else to top_*[s]. All threads must call it.
 */
fn gather(lid: u32, keys: ptr<function, array<u32, PER>>, values: ptr<function, array<f32, PER>>,
          ids: ptr<function, array<u32, PER>>, k: u32, threshold: vec2<u32>, to_memory: bool, out: u32) {
  var n_above = 0u;
  var n_equal = 0u;
  for (var j = 0u; j < PER; j++) {
    let key = (*keys)[j];
    if (key == EMPTY) { continue; }
    if (key > threshold.x) { n_above++; } else if (key == threshold.x) { n_equal++; }
  }
  scan[lid] = n_above;
  scan2[lid] = n_equal;
  workgroupBarrier();
  scan_inclusive(lid, true, true);
  var slot_above = scan[lid] - n_above;
  var slot_equal = k - threshold.y + scan2[lid] - n_equal;
  for (var j = 0u; j < PER; j++) {
    let key = (*keys)[j];
    var slot = NONE;
    if (key == EMPTY) { continue; }
    if (key > threshold.x) { slot = slot_above; slot_above++; }
    else if (key == threshold.x && slot_equal < k) { slot = slot_equal; slot_equal++; }
    if (slot == NONE) { continue; }
    if (to_memory) { cand_value[out + slot] = (*values)[j]; cand_index[out + slot] = (*ids)[j]; }
    else { top_value[slot] = (*values)[j]; top_index[slot] = (*ids)[j]; }
  }
  workgroupBarrier();
}

/** The top-k size the settings ask for. */
fn top_k() -> u32 {
  return min(clamp(settings.top_k, 1u, WG), VOCAB);
}

@compute @workgroup_size(WG)
fn slice_top(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (step.rows == 0u) { return; }
  let base = wid.x * SLICE;
  // The slice's seen ids: the bitmap, plus this step's fed ids (`main` marks them in the bitmap afterwards).
  for (var w = lid; w < SLICE / 32u; w += WG) {
    let word = base / 32u + w;
    atomicStore(&slice_seen[w], select(0u, atomicLoad(&seen[min(word, (VOCAB - 1u) / 32u)]), word <= (VOCAB - 1u) / 32u));
  }
  workgroupBarrier();
  for (var t = lid; t < step.rows; t += WG) {
    let id = token_ids[t];
    if (id >= base && id < min(base + SLICE, VOCAB)) { atomicOr(&slice_seen[(id - base) >> 5u], 1u << (id & 31u)); }
  }
  workgroupBarrier();

  let row = (step.rows - 1u) * VOCAB;
  var keys: array<u32, PER>;
  var values: array<f32, PER>;
  var ids: array<u32, PER>;
  for (var j = 0u; j < PER; j++) {
    let i = base + lid * PER + j;
    let local = i - base;
    let x = penalised(logits[row + min(i, VOCAB - 1u)],
                      settings.penalty != 1.0 && (atomicLoad(&slice_seen[local >> 5u]) & (1u << (local & 31u))) != 0u);
    values[j] = x;
    ids[j] = i;
    keys[j] = select(EMPTY, order_key(x), i < VOCAB);
  }
  let k = top_k();
  let out = wid.x * k;
  let k_slice = min(k, min(SLICE, VOCAB - base));
  for (var s = k_slice + lid; s < k; s += WG) { cand_value[out + s] = LOWEST; cand_index[out + s] = NONE; }
  let threshold = select_threshold(lid, &keys, k_slice);
  gather(lid, &keys, &values, &ids, k_slice, threshold, true, out);
}

/** (a, ia) comes before (b, ib): larger value first, then lower id; empty slots last. */
fn before(a: f32, ia: u32, b: f32, ib: u32) -> bool {
  if (ia == NONE) { return false; }
  if (ib == NONE) { return true; }
  return a > b || (a == b && ia < ib);
}

/** Bitonic sort of the WG top slots by before(). All threads must call it. */
fn sort_top(lid: u32) {
  for (var size = 2u; size <= WG; size *= 2u) {
    for (var j = size / 2u; j > 0u; j /= 2u) {
      let partner = lid ^ j;
      if (partner > lid) {
        let ascending = (lid & size) == 0u;
        let a = top_value[lid]; let ia = top_index[lid];
        let b = top_value[partner]; let ib = top_index[partner];
        if (before(b, ib, a, ia) == ascending) {
          top_value[lid] = b; top_index[lid] = ib;
          top_value[partner] = a; top_index[partner] = ia;
        }
      }
      workgroupBarrier();
    }
  }
}

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

/** Temperature, top-p over the k sorted candidates and the seeded draw (one thread, sequential sums). */
fn draw(k: u32) -> u32 {
  if (settings.temperature <= 0.0) { return top_index[0]; }
  let top = top_value[0] / settings.temperature;
  var total = 0.0;
  for (var i = 0u; i < k; i++) { total += exp(top_value[i] / settings.temperature - top); }
  // Keep the smallest prefix whose mass reaches top_p of the total (HF TopPLogitsWarper; at least one).
  var kept = 0u;
  var kept_mass = 0.0;
  let limit = settings.top_p * total;
  for (var i = 0u; i < k; i++) {
    if (i > 0u && kept_mass >= limit) { break; }
    kept_mass += exp(top_value[i] / settings.temperature - top);
    kept = i + 1u;
  }
  let u = f32(pcg(settings.seed ^ pcg(settings.counter)) >> 8u) * (1.0 / 16777216.0);
  let target_mass = u * kept_mass;
  var acc = 0.0;
  for (var i = 0u; i < kept; i++) {
    acc += exp(top_value[i] / settings.temperature - top);
    if (acc > target_mass) { return top_index[i]; }
  }
  return top_index[kept - 1u];
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  if (step.rows == 0u) { return; }
  mark_rows(lid);
  let k = top_k();
  var keys: array<u32, PER>;
  var values: array<f32, PER>;
  var ids: array<u32, PER>;
#ifdef ONE_SLICE
  // The row fits one workgroup (VOCAB ≤ WG·PER): its penalised logits are the candidates, no `slice_top` dispatch.
  storageBarrier(); // the fed ids just marked count as seen
  workgroupBarrier();
  let row = (step.rows - 1u) * VOCAB;
  for (var j = 0u; j < PER; j++) {
    let i = lid * PER + j;
    let x = penalised(logits[row + min(i, VOCAB - 1u)],
                      settings.penalty != 1.0 && (atomicLoad(&seen[min(i, VOCAB - 1u) >> 5u]) & (1u << (i & 31u))) != 0u);
    values[j] = x;
    ids[j] = i;
    keys[j] = select(EMPTY, order_key(x), i < VOCAB);
  }
#else
  let n = GROUPS * k; // candidates: slice g's at [g·k, g·k + k)
  for (var j = 0u; j < PER; j++) {
    let p = lid * PER + j;
    let q = min(p, n - 1u);
    values[j] = cand_value[q];
    ids[j] = cand_index[q];
    keys[j] = select(EMPTY, order_key(values[j]), p < n && ids[j] != NONE);
  }
#endif
  top_value[lid] = LOWEST;
  top_index[lid] = NONE;
  let threshold = select_threshold(lid, &keys, k);
  gather(lid, &keys, &values, &ids, k, threshold, false, 0u);
  sort_top(lid);
  if (lid == 0u) {
    let chosen = draw(k);
    token_ids[0] = chosen;
    sampled[0] = chosen;
  }
}
