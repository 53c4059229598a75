// Token embedding gather: out[t] = table[ids[t]] for the step's rows, widened to f32. The table [VOCAB, DIM] is
// f32 (ROW_STRIDE floats per row) or, with WEIGHT_WORDS, packed f16/q8/q4 words (plus q8/q4 group scales),
// read through common/weights.wgsl's `weight_element`. Workgroup (b, t) writes elements [b·WG, (b + 1)·WG) of
// token row t, one per thread: every load of a row is in flight at once (a workgroup per row, its threads striding
// over DIM, waited for DIM / WG loads in turn: 13.3 µs a call for a 2,048-wide q8 row in the H100 profile).
// An id >= VOCAB yields a zero row rather than reading another row or out of bounds.
// A table split across buffers (over the adapter's buffer limit) runs once per part: the part holding rows
// [FIRST_ROW, FIRST_ROW + PART_ROWS) writes the tokens whose ids fall there, the LAST_PART also the zero rows of
// ids >= VOCAB; other tokens' rows are left to their parts. One buffer: FIRST_ROW 0, PART_ROWS VOCAB, LAST_PART.
#include "step"
#include "weights"

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> ids: array<u32>;          // [T] token ids
#ifdef WEIGHT_WORDS
@group(0) @binding(2) var<storage, read> table: array<u32>;        // [PART_ROWS, ROW_STRIDE] packed words (+ scales)
#else
@group(0) @binding(2) var<storage, read> table: array<f32>;        // [PART_ROWS, ROW_STRIDE]
#endif
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // [T, DIM]

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.y;
  let i = wid.x * WG + lid;
  if (t >= step.rows || i >= DIM) { return; }
  let id = ids[t];
  // Unsigned: ids below FIRST_ROW wrap to large values and fall outside [0, PART_ROWS) too.
  let mine = id - FIRST_ROW < PART_ROWS;
#ifdef LAST_PART
  if (!mine && id < VOCAB) { return; }
#else
  if (!mine) { return; }
#endif
  let row = select(0u, id - FIRST_ROW, mine);
  out[t * DIM + i] = select(0.0, weight_element(&table, row * ROW_STRIDE, i), mine);
}
