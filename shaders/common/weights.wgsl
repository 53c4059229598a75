// Weight element access for the two unquantised storage formats. A weight matrix [N, K] is row-major; for
// WEIGHT_F16 each row is packed two f16 per u32 word (element 2i in the low half), padded to K_WORDS = ceil(K/2)
// words, so no `shader-f16` feature is needed. Both read a pair of elements (k, k+1) of row n, k even.
#ifdef WEIGHT_F16
fn weight_pair(w: ptr<storage, array<u32>, read>, row_base: u32, k: u32) -> vec2<f32> {
  return unpack2x16float((*w)[row_base + k / 2u]);
}
#else
fn weight_pair(w: ptr<storage, array<f32>, read>, row_base: u32, k: u32) -> vec2<f32> {
  return vec2<f32>((*w)[row_base + k], (*w)[row_base + k + 1u]);
}
#endif
