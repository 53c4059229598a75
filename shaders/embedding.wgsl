// Token embedding gather: out[t] = table[ids[t]] for the step's rows, widened to f32. The table [VOCAB, DIM] is
// f32 (ROW_STRIDE floats per row) or, with WEIGHT_F16, two f16 per u32 word, element 2i in the low half, rows
// padded to ROW_STRIDE = ceil(DIM/2) words (shaders/common/weights.wgsl's layout). One workgroup per token row,
// threads striding over DIM. An id >= VOCAB yields a zero row rather than reading another row or out of bounds.
#include "step"

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> ids: array<u32>;          // [T] token ids
#ifdef WEIGHT_F16
@group(0) @binding(2) var<storage, read> table: array<u32>;        // [VOCAB, ROW_STRIDE] packed f16 pairs
#else
@group(0) @binding(2) var<storage, read> table: array<f32>;        // [VOCAB, ROW_STRIDE]
#endif
@group(0) @binding(3) var<storage, read_write> out: array<f32>;    // [T, DIM]

fn table_element(row: u32, i: u32) -> f32 {
#ifdef WEIGHT_F16
  let pair = unpack2x16float(table[row * ROW_STRIDE + i / 2u]);
  return select(pair.x, pair.y, (i & 1u) == 1u);
#else
  return table[row * ROW_STRIDE + i];
#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  if (t >= step.rows) { return; }
  let id = ids[t];
  let valid = id < VOCAB;
  let row = select(0u, id, valid);
  for (var i = lid; i < DIM; i += WG) {
    out[t * DIM + i] = select(0.0, table_element(row, i), valid);
  }
}
