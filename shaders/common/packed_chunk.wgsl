// Chunk-wise dot products of packed weight rows (f16 / q8 / q4) for the packed matrix-vector kernels. A chunk is
// one vec4<u32> of a row: 8 f16, 16 q8 or 32 q4 elements, multiplied by X_VECS vec4<f32> of x. The includer
// declares `weight4: array<vec4<u32>>` (the packed data as 16-byte vectors) and `weight: array<u32>` (the same
// buffer as words, for the scales), and the defines K, ROW_STRIDE, GROUP, SCALE_OFFSET, SCALE_ROW_STRIDE; this path
// needs K % CHUNK == 0 and GROUP % CHUNK == 0 (a chunk never straddles a scale group, and ROW_STRIDE % 4 == 0).
// x comes in the form chunk_dot wants, loaded once per chunk and shared by every row a thread owns:
//   q4: codes are widened without integer-to-float conversions (a quarter-rate instruction on NVIDIA GPUs):
//       nibble i of a half-word, masked in place and OR-ed into the mantissa of 2^23, is the float 2^23 + q·16^i;
//       subtracting 2^23 + 8·16^i leaves (q − 8)·16^i exactly (the stored bias of 8 taken off in the same
//       instruction), so x is pre-scaled by 16^-i (exact: powers of two).
//   q8: signed bytes, arithmetic shifts (q8_codes in "weights"); f16: unpack2x16float.
// Two ways x reaches a thread:
//   load_x_chunk (CPU layout, one thread per row): straight from x4.
//   stage_x + staged_x_chunk (SHARED_REDUCE, the GPU layouts): the workgroup copies TILE_CHUNKS chunks of x into
//       workgroup memory, pre-scaled, one padding vector after each chunk. Lane l reads chunk l, so loading x
//       straight from memory puts the 32 lanes of a warp on 32 different 128-byte lines per vector (q4: 8 vectors
//       a chunk, 8x the L1 work of the weights themselves, which bounded q4 products near a quarter of the memory
//       bandwidth on an H100); staged and padded, a vector load of a warp spreads over all banks.
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
}

// Vector j of the x row at x_base4 (the row's start in vec4 units), as chunk_words_dot takes it.
fn x_vector(x_base4: u32, j: u32) -> vec4<f32> {
#ifdef NORM_INPUT
  let v = normed_x4(x_base4 / (K / 4u), j);
#else
  let v = x4[x_base4 + j];
#endif
#ifdef WEIGHT_Q4
  return v * vec4<f32>(1.0, 0.0625, 0.00390625, 0.000244140625);
#else
  return v;
#endif
}

// The X_VECS vectors of x for chunk c of the row at x_base4.
fn load_x_chunk(x_base4: u32, c: u32) -> XChunk {
  var chunk: XChunk;
  for (var i = 0u; i < X_VECS; i++) { chunk.v[i] = x_vector(x_base4, c * X_VECS + i); }
  return chunk;
}

#ifdef SHARED_REDUCE
// A staged tile: 64 q4 chunks (2048 elements), 128 q8 (2048) or 128 f16 (1024), at most 10 KB of workgroup
// memory with the padding, or LANES chunks where LANES is more; each lane takes TILE_STEPS chunks of it.
#ifdef WEIGHT_Q4
const TILE_STEPS: u32 = max(1u, 64u / LANES);
#else
const TILE_STEPS: u32 = max(1u, 128u / LANES);
#endif
const TILE_CHUNKS: u32 = TILE_STEPS * LANES;
const STAGE_STRIDE: u32 = X_VECS + 1u; // vectors per staged chunk: the padding shifts the next chunk's banks
var<workgroup> x_stage: array<vec4<f32>, TILE_CHUNKS * STAGE_STRIDE>;

// Stages chunks [c0, c0 + TILE_CHUNKS) of the row at x_base4, which has `chunks` chunks (past the end: copies of
// its last chunk, for lanes whose products are discarded). Barriers before (the last tile's readers are done) and
// after; call from uniform control flow.
fn stage_x(x_base4: u32, c0: u32, chunks: u32, lid: u32) {
  workgroupBarrier();
  for (var e = lid; e < TILE_CHUNKS * X_VECS; e += WG) {
    let local = e / X_VECS;
    let i = e % X_VECS;
    x_stage[local * STAGE_STRIDE + i] = x_vector(x_base4, min(c0 + local, chunks - 1u) * X_VECS + i);
  }
  workgroupBarrier();
}

// Chunk `local` of the staged tile.
fn staged_x_chunk(local: u32) -> XChunk {
  var chunk: XChunk;
  for (var i = 0u; i < X_VECS; i++) { chunk.v[i] = x_stage[local * STAGE_STRIDE + i]; }
  return chunk;
}
#endif

#ifdef WEIGHT_Q4
const MAGIC: u32 = 0x4b000000u;   // bits of 2^23
const NIBBLE_MASKS = vec4<u32>(0xfu, 0xf0u, 0xf00u, 0xf000u);
const NIBBLE_BIAS = vec4<f32>(8388616.0, 8388736.0, 8390656.0, 8421376.0); // 2^23 + 8·16^i

// The four nibbles of the low half-word of `half`, as (q − 8)·16^i (q = stored code, 0..15).
fn nibbles_scaled(half: u32) -> vec4<f32> {
  return bitcast<vec4<f32>>((vec4<u32>(half) & NIBBLE_MASKS) | vec4<u32>(MAGIC)) - NIBBLE_BIAS;
}

fn word_dot(word: u32, lo: vec4<f32>, hi: vec4<f32>) -> f32 {
  return dot(nibbles_scaled(word), lo) + dot(nibbles_scaled(word >> 16u), hi);
}
#endif

// One chunk's words · the x chunk, before the scale.
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
       + word_dot(words.z, xc.v[4], xc.v[5]) + word_dot(words.w, xc.v[6], xc.v[7]);
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
