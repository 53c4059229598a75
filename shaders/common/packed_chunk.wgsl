// Chunk-wise dot products of packed weight rows (f16 / q8 / q4) for the packed matrix-vector kernels. A chunk is
// one vec4<u32> of a row: 8 f16, 16 q8 or 32 q4 elements, multiplied by X_VECS vec4<f32> of x. The includer
// declares `weight4: array<vec4<u32>>` (the packed data as 16-byte vectors) and `weight: array<u32>` (the same
// buffer as words, for the scales), and the defines K, ROW_STRIDE, GROUP, SCALE_OFFSET, SCALE_ROW_STRIDE; this path
// needs K % CHUNK == 0 and GROUP % CHUNK == 0 (a chunk never straddles a scale group, and ROW_STRIDE % 4 == 0).
// x is loaded once per chunk and shared by every row a thread owns (load_x_chunk), in the form chunk_dot wants:
//   q4: codes are widened without integer-to-float conversions (a quarter-rate instruction on NVIDIA GPUs):
//       nibble i of a half-word, masked in place and OR-ed into the mantissa of 2^23, is the float 2^23 + q·16^i;
//       subtracting 2^23 leaves q·16^i exactly, so x is pre-scaled by 16^-i (exact: powers of two). The stored
//       bias of 8 is taken off once per chunk as 8·Σx (XChunk.sum) instead of once per element.
//   q8: signed bytes, arithmetic shifts (q8_codes in "weights"); f16: unpack2x16float.
// NORM_INPUT: x is the residual stream, normed on load (common/input_norm.wgsl; include that first).
// Include after "weights".

#ifdef WEIGHT_F16
const X_VECS: u32 = 2u;
#endif
#ifdef WEIGHT_Q8
const X_VECS: u32 = 4u;
#endif
#ifdef WEIGHT_Q4
const X_VECS: u32 = 8u;
#endif
const CHUNK: u32 = 4u * X_VECS;          // elements per chunk
const CHUNKS: u32 = K / CHUNK;           // chunks per row
const ROW_CHUNKS: u32 = ROW_STRIDE / 4u; // vec4<u32> per row (ROW_STRIDE words)

struct XChunk {
  v: array<vec4<f32>, X_VECS>, // q4: pre-scaled by (1, 1/16, 1/256, 1/4096) per vector
  sum: f32,                    // q4: Σ of the chunk's 32 x values (unscaled); unused otherwise
}

const NIBBLE_SCALE = vec4<f32>(1.0, 0.0625, 0.00390625, 0.000244140625);

// The X_VECS vectors of x for chunk c, at x4[x_base4 + c * X_VECS ...] (x_base4: the row of x in vec4 units).
fn load_x_chunk(x_base4: u32, c: u32) -> XChunk {
  var chunk: XChunk;
  var sum = vec4<f32>(0.0);
  for (var i = 0u; i < X_VECS; i++) {
#ifdef NORM_INPUT
    let v = normed_x4(x_base4 / (K / 4u), c * X_VECS + i);
#else
    let v = x4[x_base4 + c * X_VECS + i];
#endif
#ifdef WEIGHT_Q4
    sum += v;
    chunk.v[i] = v * NIBBLE_SCALE;
#else
    chunk.v[i] = v;
#endif
  }
  chunk.sum = sum.x + sum.y + sum.z + sum.w;
  return chunk;
}

#ifdef WEIGHT_Q4
const MAGIC: u32 = 0x4b000000u;   // bits of 2^23
const NIBBLE_MASKS = vec4<u32>(0xfu, 0xf0u, 0xf00u, 0xf000u);

// The four nibbles of the low half-word of `half`, as q·16^i (q = stored code, 0..15).
fn nibbles_scaled(half: u32) -> vec4<f32> {
  return bitcast<vec4<f32>>((vec4<u32>(half) & NIBBLE_MASKS) | vec4<u32>(MAGIC)) - vec4<f32>(8388608.0);
}

fn word_dot(word: u32, lo: vec4<f32>, hi: vec4<f32>) -> f32 {
  return dot(nibbles_scaled(word), lo) + dot(nibbles_scaled(word >> 16u), hi);
}
#endif

// One chunk's words · the x chunk, before the scale (q4: with the stored bias taken off).
fn chunk_words_dot(words: vec4<u32>, xc: XChunk) -> f32 {
#ifdef WEIGHT_F16
  return dot(vec4<f32>(unpack2x16float(words.x), unpack2x16float(words.y)), xc.v[0])
       + dot(vec4<f32>(unpack2x16float(words.z), unpack2x16float(words.w)), xc.v[1]);
#endif
#ifdef WEIGHT_Q8
  return dot(q8_codes(words.x), xc.v[0]) + dot(q8_codes(words.y), xc.v[1])
       + dot(q8_codes(words.z), xc.v[2]) + dot(q8_codes(words.w), xc.v[3]);
#endif
#ifdef WEIGHT_Q4
  return word_dot(words.x, xc.v[0], xc.v[1]) + word_dot(words.y, xc.v[2], xc.v[3])
       + word_dot(words.z, xc.v[4], xc.v[5]) + word_dot(words.w, xc.v[6], xc.v[7]) - 8.0 * xc.sum;
#endif
}

// The scale of W[row] chunk c (1 for f16).
fn chunk_scale(row: u32, c: u32) -> f32 {
#ifdef WEIGHT_QUANTISED
  let g = c * CHUNK / GROUP;
  return unpack2x16float(weight[SCALE_OFFSET + row * SCALE_ROW_STRIDE + g / 2u])[g & 1u];
#else
  return 1.0;
#endif
}

// W[row] chunk c · x chunk (scale applied).
fn chunk_dot(row: u32, c: u32, xc: XChunk) -> f32 {
  let s = chunk_words_dot(weight4[row * ROW_CHUNKS + c], xc);
#ifdef WEIGHT_QUANTISED
  return s * chunk_scale(row, c);
#else
  return s;
#endif
}
