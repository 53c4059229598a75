// Weight element access for the four storage formats (engine/weights/quant.ts has the exact layout). A weight
// matrix [N, K] is row-major, ROW_STRIDE data words (f32: floats) per row; `row_base` = row * ROW_STRIDE.
//   (none)      f32.
//   WEIGHT_F16  two f16 per u32 word, element 2i in the low half (no `shader-f16` needed: unpack2x16float).
//   WEIGHT_Q8   four int8 codes per word, element 4i in the low byte;  value = code * scale.
//   WEIGHT_Q4   eight 4-bit codes per word, element 8i in the low nibble, stored code + 8;  value = code * scale.
//               (WEIGHT_QUANTISED is set with either.) One f16 scale per GROUP elements of a row (GROUP a multiple
//               of 8, so a data word never straddles two groups), two per word, at SCALE_OFFSET +
//               row * SCALE_ROW_STRIDE in the same buffer. Codes are widened with shifts only, in registers.
// weight_pair reads elements (k, k + 1) of a row, k even; weight_element reads element k.
#ifdef WEIGHT_F16
fn weight_pair(w: ptr<storage, array<u32>, read>, row_base: u32, k: u32) -> vec2<f32> {
  return unpack2x16float((*w)[row_base + k / 2u]);
}

fn weight_element(w: ptr<storage, array<u32>, read>, row_base: u32, k: u32) -> f32 {
  return unpack2x16float((*w)[row_base + k / 2u])[k & 1u];
}
#else
#ifdef WEIGHT_QUANTISED
// Scale of group g of `row`.
fn weight_group_scale(w: ptr<storage, array<u32>, read>, row: u32, g: u32) -> f32 {
  return unpack2x16float((*w)[SCALE_OFFSET + row * SCALE_ROW_STRIDE + g / 2u])[g & 1u];
}

// The four signed bytes of a q8 word, element 0 from the low byte (arithmetic shifts sign-extend).
fn q8_codes(word: u32) -> vec4<f32> {
  return vec4<f32>(vec4<i32>(bitcast<i32>(word << 24u), bitcast<i32>(word << 16u), bitcast<i32>(word << 8u),
                             bitcast<i32>(word)) >> vec4<u32>(24u));
}

// Four codes of a q4 word: nibbles 4*half .. 4*half + 3, minus the stored bias of 8.
fn q4_codes(word: u32, half: u32) -> vec4<f32> {
  let shift = 16u * half;
  return vec4<f32>((vec4<u32>(word) >> vec4<u32>(shift, shift + 4u, shift + 8u, shift + 12u)) & vec4<u32>(15u)) - 8.0;
}

// Four consecutive codes holding element k: elements (k & ~3) .. (k & ~3) + 3.
fn weight_codes4(w: ptr<storage, array<u32>, read>, row_base: u32, k: u32) -> vec4<f32> {
#ifdef WEIGHT_Q8
  return q8_codes((*w)[row_base + k / 4u]);
#else
  return q4_codes((*w)[row_base + k / 8u], (k / 4u) & 1u);
#endif
}

fn weight_pair(w: ptr<storage, array<u32>, read>, row_base: u32, k: u32) -> vec2<f32> {
  let codes = weight_codes4(w, row_base, k);
  let pair = select(codes.xy, codes.zw, (k & 2u) != 0u);
  return pair * weight_group_scale(w, row_base / ROW_STRIDE, k / GROUP);
}

fn weight_element(w: ptr<storage, array<u32>, read>, row_base: u32, k: u32) -> f32 {
  return weight_codes4(w, row_base, k)[k & 3u] * weight_group_scale(w, row_base / ROW_STRIDE, k / GROUP);
}
#else
fn weight_pair(w: ptr<storage, array<f32>, read>, row_base: u32, k: u32) -> vec2<f32> {
  return vec2<f32>((*w)[row_base + k], (*w)[row_base + k + 1u]);
}

fn weight_element(w: ptr<storage, array<f32>, read>, row_base: u32, k: u32) -> f32 {
  return (*w)[row_base + k];
}
#endif
#endif
