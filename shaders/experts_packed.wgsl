// Routed MoE experts as packed-chunk matrix-vector products (f16/q8/q4 rows, K a multiple of the 16-byte chunk:
// common/packed_chunk.wgsl), the decode fast path of experts.ts; same results as linear_experts.wgsl up to f32
// summation order. The expert of each (token, slot) comes from `expert_ids` on the GPU, clamped to [0, E).
// Stacked expert weights are contiguous: expert e's row r is row e*R + r. act rows are ACT_STRIDE wide.
//   swiglu (no DOWN): x [T, K=H], W [E, 2N, K] (per expert N=I gate rows then N up rows):
//           act[t, j*N + n] = silu(Wg[id]·x[t]) * (Wu[id]·x[t]),  id = expert_ids[t*TOP_K + j]
//   DOWN:   x = act [T, ACT_STRIDE], W [E, N=H, K=I]:
//           y[t, n] (+)= Σ_j expert_weights[t, j] · (W[id_j][n]·act[t, j*K ..])   (ACCUMULATE: onto what y holds,
//           the residual stream or the shared experts' output; one writer per element.)
//   SHARED: the shared experts (one SwiGLU MLP of width S_N) ride in the same dispatches: swiglu gets one more
//           slot per token (j = TOP_K) that reads shared_weight [2*S_N, K] into act[t, TOP_K*N ..]; down adds
//           shared_weight [N, S_K] · act[t, TOP_K*K ..] (weight 1) to the sum. Two dispatches fewer per layer.
// Layout as linear_packed.wgsl (on GPUs x staged in workgroup memory a tile at a time): WG threads = (WG / LANES)
// slots x LANES lanes, WG_ROWS rows per workgroup (workgroup_id.x), ROWS_PER_THREAD per slot; (y, z) pick the slot
// (swiglu: t*SLOTS_PER_TOKEN + j; down: t) as z*65535 + y. Rows past the output width read a clamped row and write nothing.
#include "step"
#include "weights"

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;           // swiglu: [T, K/4]; down: [T, ACT_STRIDE/4]
@group(0) @binding(2) var<storage, read> weight4: array<vec4<u32>>;      // [E, 2N or N, ROW_STRIDE/4] packed data
@group(0) @binding(3) var<storage, read> expert_ids: array<u32>;         // [T, TOP_K]
@group(0) @binding(4) var<storage, read_write> y: array<f32>;            // swiglu: [T, ACT_STRIDE]; down: [T, N]
#ifdef DOWN
@group(0) @binding(5) var<storage, read> expert_weights: array<f32>;     // [T, TOP_K]
#endif
// Then, in this order: `weight` (q8/q4 scales: the same buffer as words), and with SHARED `shared_weight4`
// [2*S_N or N, S_ROW_STRIDE/4] and its scales `shared_weight`; numbered on from 5 (swiglu) or 6 (down).
#ifdef WEIGHT_QUANTISED
@group(0) @binding(SCALES_BINDING) var<storage, read> weight: array<u32>;
#endif
#ifdef SHARED
@group(0) @binding(SHARED_BINDING) var<storage, read> shared_weight4: array<vec4<u32>>;
#ifdef WEIGHT_QUANTISED
@group(0) @binding(SHARED_SCALES_BINDING) var<storage, read> shared_weight: array<u32>;
#endif
#endif

#include "packed_chunk"
#include "lane_reduce"

const SLOT_GRID_Y: u32 = 65535u;
const SLOTS: u32 = WG / LANES;
const WG_ROWS: u32 = SLOTS * ROWS_PER_THREAD;

#ifdef DOWN
const DOWN_BATCH: u32 = 4u;                       // (expert, chunk) steps whose loads a lane issues together
var<workgroup> slot_row: array<u32, TOP_K>;       // the token's experts' first rows
var<workgroup> slot_weight: array<f32, TOP_K>;    // and their routing weights
#endif

fn expert_of(slot: u32) -> u32 {
  return min(expert_ids[slot], E - 1u);
}

fn silu(z: f32) -> f32 {
  return z / (1.0 + exp(-z));
}

#ifdef SHARED
// Shared-expert row `row` chunk c and its scale.
fn shared_row_chunk(row: u32, c: u32) -> RowChunk {
#ifdef WEIGHT_QUANTISED
  let g = c * CHUNK / GROUP;
  return RowChunk(shared_weight4[row * (S_ROW_STRIDE / 4u) + c],
                  unpack2x16float(shared_weight[S_SCALE_OFFSET + row * S_SCALE_ROW_STRIDE + g / 2u])[g & 1u]);
#else
  return RowChunk(shared_weight4[row * (S_ROW_STRIDE / 4u) + c], 1.0);
#endif
}

// Shared-expert row `row` chunk c · x chunk (scale applied).
fn shared_chunk_dot(row: u32, c: u32, xc: XChunk) -> f32 {
  return row_chunk_dot(shared_row_chunk(row, c), xc);
}
#endif

#ifndef DOWN
// Gate and up products of row n of a slot's MLP with x chunk c: the shared experts' (`shared_slot`), else the
// routed expert's whose gate rows start at first_row.
fn gate_up_dot(shared_slot: bool, first_row: u32, n: u32, c: u32, xc: XChunk) -> vec2<f32> {
#ifdef SHARED
  if (shared_slot) { return vec2<f32>(shared_chunk_dot(n, c, xc), shared_chunk_dot(n + S_N, c, xc)); }
#endif
  return vec2<f32>(chunk_dot(first_row + n, c, xc), chunk_dot(first_row + n + N, c, xc));
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let grid_slot = wid.z * SLOT_GRID_Y + wid.y;
  let lane = lid % LANES;
  let first = wid.x * WG_ROWS + (lid / LANES) * ROWS_PER_THREAD;
  var gate: array<f32, ROWS_PER_THREAD>; // down: the weighted sum over the token's experts
  var up: array<f32, ROWS_PER_THREAD>;   // gate/up: the up rows (unused by DOWN)
#ifdef DOWN
  let t = grid_slot;
  if (t >= step.rows || wid.x * WG_ROWS >= N) { return; } // uniform
  // The token's expert rows and routing weights, loaded once for the workgroup.
  if (lid < TOP_K) {
    slot_row[lid] = expert_of(t * TOP_K + lid) * N;
    slot_weight[lid] = expert_weights[t * TOP_K + lid];
  }
  workgroupBarrier();
  // The token's (expert, chunk) pairs as one flat range over the lanes: K = moe_intermediate_size is a few dozen
  // chunks, so a loop per expert would leave lanes idle at each expert's end and serialise the experts. The act
  // row holds the experts' inputs one after another, so the flat range is also a contiguous range of x.
#ifdef SHARED_REDUCE
  // Each tile's weight loads are issued before its x is staged, so they are in flight during the staging (as in
  // linear_packed.wgsl; staged first, each of the 5-7 tiles waited a memory latency for its weights).
  for (var c0 = 0u; c0 < TOP_K * CHUNKS; c0 += TILE_CHUNKS) {
    var w: array<RowChunk, TILE_STEPS * ROWS_PER_THREAD>;
    var routing_weight: array<f32, TILE_STEPS>;
    for (var s = 0u; s < TILE_STEPS; s++) {
      let local = s * LANES + lane;
      let i = min(c0 + local, TOP_K * CHUNKS - 1u);
      routing_weight[s] = select(0.0, slot_weight[i / CHUNKS], c0 + local < TOP_K * CHUNKS);
      for (var r = 0u; r < ROWS_PER_THREAD; r++) {
        w[s * ROWS_PER_THREAD + r] = row_chunk(slot_row[i / CHUNKS] + min(first + r, N - 1u), i % CHUNKS);
      }
    }
    stage_x((t * ACT_STRIDE) / 4u, c0, TOP_K * CHUNKS, lid);
    for (var s = 0u; s < TILE_STEPS; s++) {
      let xc = staged_x_chunk(s * LANES + lane);
      for (var r = 0u; r < ROWS_PER_THREAD; r++) {
        gate[r] += routing_weight[s] * row_chunk_dot(w[s * ROWS_PER_THREAD + r], xc);
      }
    }
  }
#ifdef SHARED
  for (var c0 = 0u; c0 < S_K / CHUNK; c0 += TILE_CHUNKS) {
    var w: array<RowChunk, TILE_STEPS * ROWS_PER_THREAD>;
    for (var s = 0u; s < TILE_STEPS; s++) {
      let c = min(c0 + s * LANES + lane, S_K / CHUNK - 1u);
      for (var r = 0u; r < ROWS_PER_THREAD; r++) { w[s * ROWS_PER_THREAD + r] = shared_row_chunk(min(first + r, N - 1u), c); }
    }
    stage_x((t * ACT_STRIDE + TOP_K * K) / 4u, c0, S_K / CHUNK, lid);
    for (var s = 0u; s < TILE_STEPS; s++) {
      let local = s * LANES + lane;
      let xc = staged_x_chunk(local);
      for (var r = 0u; r < ROWS_PER_THREAD; r++) {
        gate[r] += select(0.0, row_chunk_dot(w[s * ROWS_PER_THREAD + r], xc), c0 + local < S_K / CHUNK);
      }
    }
  }
#endif
#else
  // DOWN_BATCH steps' loads are issued together (a step at a time, each waited a memory latency: ~9 in a row per
  // lane).
  for (var i0 = lane; i0 < TOP_K * CHUNKS; i0 += DOWN_BATCH * LANES) {
    var xcs: array<XChunk, DOWN_BATCH>;
    var words: array<vec4<u32>, DOWN_BATCH * ROWS_PER_THREAD>;
    var scales: array<f32, DOWN_BATCH * ROWS_PER_THREAD>;
    for (var b = 0u; b < DOWN_BATCH; b++) {
      let i = min(i0 + b * LANES, TOP_K * CHUNKS - 1u);
      let j = i / CHUNKS;
      let c = i % CHUNKS;
      xcs[b] = load_x_chunk((t * ACT_STRIDE + j * K) / 4u, c);
      for (var r = 0u; r < ROWS_PER_THREAD; r++) {
        let row = slot_row[j] + min(first + r, N - 1u);
        words[b * ROWS_PER_THREAD + r] = weight4[row * ROW_CHUNKS + c];
        scales[b * ROWS_PER_THREAD + r] = chunk_scale(row, c);
      }
    }
    for (var b = 0u; b < DOWN_BATCH; b++) {
      let i = i0 + b * LANES;
      if (i < TOP_K * CHUNKS) {
        let routing_weight = slot_weight[i / CHUNKS];
        for (var r = 0u; r < ROWS_PER_THREAD; r++) {
          let s = chunk_words_dot(words[b * ROWS_PER_THREAD + r], xcs[b]);
#ifdef WEIGHT_QUANTISED
          gate[r] += routing_weight * (s * scales[b * ROWS_PER_THREAD + r]);
#else
          gate[r] += routing_weight * s;
#endif
        }
      }
    }
  }
#ifdef SHARED
  for (var c = lane; c < S_K / CHUNK; c += LANES) {
    let xc = load_x_chunk((t * ACT_STRIDE + TOP_K * K) / 4u, c);
    for (var r = 0u; r < ROWS_PER_THREAD; r++) {
      gate[r] += shared_chunk_dot(min(first + r, N - 1u), c, xc);
    }
  }
#endif
#endif
  let width = N;
#else
  let t = grid_slot / SLOTS_PER_TOKEN;
  let j = grid_slot % SLOTS_PER_TOKEN;
  if (t >= step.rows) { return; } // uniform
  var width = N;
  var first_row = 0u; // the routed expert's first gate row (unused for the shared slot)
  var shared_slot = false;
#ifdef SHARED
  if (j == TOP_K) {
    width = S_N;
    shared_slot = true;
  }
#endif
  if (wid.x * WG_ROWS >= width) { return; } // uniform
  if (!shared_slot) { first_row = expert_of(t * TOP_K + j) * 2u * N; }
#ifdef SHARED_REDUCE
  for (var c0 = 0u; c0 < CHUNKS; c0 += TILE_CHUNKS) {
    stage_x(t * (K / 4u), c0, CHUNKS, lid);
    for (var s = 0u; s < TILE_STEPS; s++) {
      let local = s * LANES + lane;
      let live = c0 + local < CHUNKS;
      let xc = staged_x_chunk(local);
      for (var r = 0u; r < ROWS_PER_THREAD; r++) {
        let gu = gate_up_dot(shared_slot, first_row, min(first + r, width - 1u), min(c0 + local, CHUNKS - 1u), xc);
        gate[r] += select(0.0, gu.x, live);
        up[r] += select(0.0, gu.y, live);
      }
    }
  }
#else
  for (var c = lane; c < CHUNKS; c += LANES) {
    let xc = load_x_chunk(t * (K / 4u), c);
    for (var r = 0u; r < ROWS_PER_THREAD; r++) {
      let gu = gate_up_dot(shared_slot, first_row, min(first + r, width - 1u), c, xc);
      gate[r] += gu.x;
      up[r] += gu.y;
    }
  }
#endif
#endif
#ifdef SHARED_REDUCE
  sum_lanes(lid, lane, &gate, &up);
  if (lane != 0u) { return; }
#endif
  for (var r = 0u; r < ROWS_PER_THREAD; r++) {
    let n = first + r;
    if (n < width) {
#ifdef DOWN
#ifdef ACCUMULATE
      y[t * N + n] += gate[r];
#else
      y[t * N + n] = gate[r];
#endif
#else
      y[t * ACT_STRIDE + j * N + n] = silu(gate[r]) * up[r];
#endif
    }
  }
}
