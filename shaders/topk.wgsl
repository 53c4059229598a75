// Per-row top-k selection for the DSA indexer (deepseek-math.md §6.1 step 7): row t (absolute position
// p = pos0 + t) considers the causal scores[t, 0..p] (n = p + 1 values) and writes
//   counts[t] = min(TOPK, n),  indices[t, 0..counts[t]) = the keys with the largest scores,
// ties at the boundary resolved towards the lower key index; the order inside the list is unspecified.
// One workgroup of WG threads per row (a power of two from 256 to 2048). If n ≤ TOPK it writes 0..n−1 directly.
// Otherwise it finds the TOPK-th largest score by an MSB-first radix select over the order-preserving u32 encoding
// of the f32 scores: 3 rounds of 11, 11 and 10 bits, each a 2048-bin histogram of the keys matching the digits
// chosen so far, then a suffix scan picking the digit that holds the TOPK-th element. Then it compacts: every key
// above the threshold, plus the lowest-index keys equal to it (an ordered scan over per-thread index ranges, only
// when not all ties fit). The first REG·WG keys (thread lid: keys lid + q·WG, q < REG) are loaded once, all REG
// loads in flight together, and kept in registers through the rounds and the compaction; keys past them are read
// again each pass, BATCH at a time (on a GPU each dependent pass over global memory costs memory latencies).
#include "step"

const BINS: u32 = 2048u;               // 11-bit digits
const BINS_PER_THREAD: u32 = BINS / WG; // thread lid owns bins [BINS_PER_THREAD·lid, BINS_PER_THREAD·(lid + 1))
const BATCH: u32 = 8u;                 // scores loaded together per thread past the cached keys
const CACHED: u32 = REG * WG;          // keys held in registers

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> scores: array<f32>;          // [T, MAX_CONTEXT]
@group(0) @binding(2) var<storage, read_write> indices: array<u32>;   // [T, TOPK]
@group(0) @binding(3) var<storage, read_write> counts: array<u32>;    // [T]

var<workgroup> histogram: array<atomic<u32>, BINS>;
var<workgroup> scan: array<u32, WG>;
var<workgroup> chosen_digit: u32;
var<workgroup> chosen_remaining: u32; // how many keys equal to the prefix so far still have to be taken
var<workgroup> chosen_matching: u32;  // how many keys match the prefix including the chosen digit
var<workgroup> next_slot: atomic<u32>;

/** Monotone map f32 → u32 (a < b ⇔ key(a) < key(b)); −0 is folded onto +0 so both tie. */
fn order_key(value: f32) -> u32 {
  let bits = bitcast<u32>(select(value, 0.0, value == 0.0));
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

/** Inclusive scan of scan[] in place (forward when forward, else suffix sums). All threads must call it. */
fn scan_inclusive(lid: u32, forward: bool) {
  for (var offset = 1u; offset < WG; offset *= 2u) {
    var add = 0u;
    if (forward && lid >= offset) { add = scan[lid - offset]; }
    if (!forward && lid + offset < WG) { add = scan[lid + offset]; }
    workgroupBarrier();
    scan[lid] += add;
    workgroupBarrier();
  }
}

fn count_key(key: u32, prefix: u32, mask: u32, shift: u32, digit_mask: u32) {
  if ((key & mask) == prefix) { atomicAdd(&histogram[(key >> shift) & digit_mask], 1u); }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  if (t >= step.rows) { return; }
  let n = step.pos0 + t + 1u;
  let row = t * MAX_CONTEXT;
  let out = t * TOPK;
  if (n <= TOPK) {
    for (var i = lid; i < n; i += WG) { indices[out + i] = i; }
    if (lid == 0u) { counts[t] = n; }
    return;
  }

  var cached: array<u32, REG>;
  for (var q = 0u; q < REG; q++) { cached[q] = order_key(scores[row + min(lid + q * WG, n - 1u)]); }

  var prefix = 0u;
  var mask = 0u;
  var remaining = TOPK;
  for (var round = 0u; round < 3u; round++) {
    var shift = 21u;            // bits 31..21
    var digit_mask = 0x7ffu;
    if (round == 1u) { shift = 10u; } // bits 20..10
    if (round == 2u) { shift = 0u; digit_mask = 0x3ffu; } // bits 9..0
    for (var b = 0u; b < BINS_PER_THREAD; b++) { atomicStore(&histogram[lid * BINS_PER_THREAD + b], 0u); }
    workgroupBarrier();
    for (var q = 0u; q < REG; q++) {
      if (lid + q * WG < n) { count_key(cached[q], prefix, mask, shift, digit_mask); }
    }
    // BATCH independent loads per iteration keep more of them in flight (one at a time, each waits a memory latency).
    for (var u0 = CACHED + lid; u0 < n; u0 += BATCH * WG) {
      var keys: array<u32, BATCH>;
      for (var q = 0u; q < BATCH; q++) { keys[q] = order_key(scores[row + min(u0 + q * WG, n - 1u)]); }
      for (var q = 0u; q < BATCH; q++) {
        if (u0 + q * WG < n) { count_key(keys[q], prefix, mask, shift, digit_mask); }
      }
    }
    workgroupBarrier();
    var own = 0u;
    for (var b = 0u; b < BINS_PER_THREAD; b++) { own += atomicLoad(&histogram[lid * BINS_PER_THREAD + b]); }
    scan[lid] = own;
    workgroupBarrier();
    scan_inclusive(lid, false); // scan[i] = matching keys in the bins of threads ≥ i
    var above = select(0u, scan[min(lid + 1u, WG - 1u)], lid + 1u < WG);
    if (above < remaining && remaining <= scan[lid]) { // exactly one thread holds the remaining-th largest
      for (var b = BINS_PER_THREAD; b > 0u; b--) {
        let bin = lid * BINS_PER_THREAD + b - 1u;
        let count = atomicLoad(&histogram[bin]);
        if (above + count >= remaining) {
          chosen_digit = bin;
          chosen_remaining = remaining - above;
          chosen_matching = count;
          break;
        }
        above += count;
      }
    }
    prefix |= workgroupUniformLoad(&chosen_digit) << shift;
    mask |= digit_mask << shift;
    remaining = workgroupUniformLoad(&chosen_remaining);
  }
  // prefix is now the TOPK-th largest key; `remaining` of the keys equal to it are taken, TOPK − remaining above.
  let ties = workgroupUniformLoad(&chosen_matching);
  let take_all_ties = ties == remaining;
  if (lid == 0u) { atomicStore(&next_slot, 0u); }
  workgroupBarrier();
  for (var q = 0u; q < REG; q++) {
    let u = lid + q * WG;
    if (u < n && (cached[q] > prefix || (take_all_ties && cached[q] == prefix))) {
      indices[out + atomicAdd(&next_slot, 1u)] = u;
    }
  }
  // Past the cached keys: BATCH strided scores' loads at a time, as in the histogram rounds.
  for (var u0 = CACHED + lid; u0 < n; u0 += BATCH * WG) {
    var keys: array<u32, BATCH>;
    for (var q = 0u; q < BATCH; q++) { keys[q] = order_key(scores[row + min(u0 + q * WG, n - 1u)]); }
    for (var q = 0u; q < BATCH; q++) {
      let u = u0 + q * WG;
      if (u < n && (keys[q] > prefix || (take_all_ties && keys[q] == prefix))) {
        indices[out + atomicAdd(&next_slot, 1u)] = u;
      }
    }
  }
  if (!take_all_ties) {
    // Rank the ties in index order: thread lid owns keys [begin, end), counts its ties, then a forward scan
    // gives each thread the rank of its first tie.
    let span = (n + WG - 1u) / WG;
    let begin = min(lid * span, n);
    let end = min(begin + span, n);
    var own = 0u;
    for (var u = begin; u < end; u++) { own += u32(order_key(scores[row + u]) == prefix); }
    scan[lid] = own;
    workgroupBarrier();
    scan_inclusive(lid, true);
    var rank = scan[lid] - own;
    for (var u = begin; u < end && rank < remaining; u++) {
      if (order_key(scores[row + u]) == prefix) {
        indices[out + TOPK - remaining + rank] = u;
        rank++;
      }
    }
  }
  if (lid == 0u) { counts[t] = TOPK; }
}
