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
//   X_INT8 (q4 on the GPU layouts, matvec-shape.ts packedReduceDefines): staging turns each 32-element chunk of x
//       into int8 codes and a scale, and a chunk's product is 8 integer dot products (dot4I8Packed) of nibbles with
//       codes, exact, then scaled once; see stage_x for the packing.
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

// x for one chunk: q4 with X_INT8 as int8 codes (packed to meet the weights' nibbles, see stage_x) and their
// scale; otherwise f32 vectors (q4: pre-scaled by (1, 1/16, 1/256, 1/4096) per vector).
#ifdef X_INT8
struct XChunk {
  q: array<vec4<u32>, 2>,
  scale: f32,  // max |x| / 127 over the chunk's 32 values
  offset: f32, // 8 · Σ codes: the weights' stored bias of 8, taken off the integer sum
}
#else
struct XChunk {
  v: array<vec4<f32>, X_VECS>,
}
#endif

// Vector j of the x row at x_base4 (the row's start in vec4 units).
fn x_vector(x_base4: u32, j: u32) -> vec4<f32> {
#ifdef NORM_INPUT
  return normed_x4(x_base4 / (K / 4u), j);
#else
  return x4[x_base4 + j];
#endif
}

#ifdef WEIGHT_Q4
const NIBBLE_SCALE = vec4<f32>(1.0, 0.0625, 0.00390625, 0.000244140625);
#else
const NIBBLE_SCALE = vec4<f32>(1.0);
#endif

#ifndef X_INT8
// The X_VECS vectors of x for chunk c of the row at x_base4.
fn load_x_chunk(x_base4: u32, c: u32) -> XChunk {
  var chunk: XChunk;
  for (var i = 0u; i < X_VECS; i++) { chunk.v[i] = x_vector(x_base4, c * X_VECS + i) * NIBBLE_SCALE; }
  return chunk;
}
#endif

#ifdef SHARED_REDUCE
// A staged tile: 64 q4 chunks (2048 elements), 128 q8 (2048) or 128 f16 (1024), at most 10 KB of workgroup
// memory with the padding, or LANES chunks where LANES is more; each lane takes TILE_STEPS chunks of it.
#ifdef WEIGHT_Q4
const TILE_STEPS: u32 = max(1u, 64u / LANES);
#else
const TILE_STEPS: u32 = max(1u, 128u / LANES);
#endif
const TILE_CHUNKS: u32 = TILE_STEPS * LANES;
#ifdef X_INT8
// Per chunk: two vectors of codes and one unused, which shifts the next chunk's banks; its scale, and its codes'
// sum (for the weights' bias) in two halves; the staging's per-half maxima of |x|.
const STAGE_STRIDE: u32 = 3u;
const STAGE_ITEMS: u32 = (TILE_CHUNKS * 2u + WG - 1u) / WG; // half chunks a thread stages
var<workgroup> x_stage: array<vec4<u32>, TILE_CHUNKS * STAGE_STRIDE>;
var<workgroup> x_scale: array<f32, TILE_CHUNKS>;
var<workgroup> x_qsum: array<i32, TILE_CHUNKS * 2>;
var<workgroup> x_amax: array<f32, TILE_CHUNKS * 2>;
#else
const STAGE_STRIDE: u32 = X_VECS + 1u; // vectors per staged chunk: the padding shifts the next chunk's banks
var<workgroup> x_stage: array<vec4<f32>, TILE_CHUNKS * STAGE_STRIDE>;
#endif

// Stages chunks [c0, c0 + TILE_CHUNKS) of the row at x_base4, which has `chunks` chunks (past the end: copies of
// its last chunk, for lanes whose products are discarded). Barriers before (the last tile's readers are done) and
// after; call from uniform control flow.
fn stage_x(x_base4: u32, c0: u32, chunks: u32, lid: u32) {
  workgroupBarrier();
#ifdef X_INT8
  // A thread per half chunk (16 elements), two rounds: the chunk's max |x| from its two halves' maxima, then codes
  // round(x · 127 / max|x|) (0 for an all-zero chunk). Word w of a weight chunk holds elements 8w..8w+7 as nibbles
  // 0..7; `& 0x0f0f0f0f` keeps the even ones and `>> 4` then the same mask the odd ones, so the codes are packed
  // likewise: even elements of 8w.. in code word 2w, odd ones in code word 2w + 1. Every store to workgroup memory
  // is a whole vec4 or a scalar (a component store may become a read-modify-write of the vector on some backends).
  var xv: array<vec4<f32>, 4 * STAGE_ITEMS>;
  for (var k = 0u; k < STAGE_ITEMS; k++) {
    let item = min(lid + k * WG, TILE_CHUNKS * 2u - 1u);
    let c = min(c0 + item / 2u, chunks - 1u);
    var m = vec4<f32>(0.0);
    for (var i = 0u; i < 4u; i++) {
      xv[4u * k + i] = x_vector(x_base4, c * 8u + 4u * (item % 2u) + i);
      m = max(m, abs(xv[4u * k + i]));
    }
    if (lid + k * WG < TILE_CHUNKS * 2u) { x_amax[item] = max(max(m.x, m.y), max(m.z, m.w)); }
  }
  workgroupBarrier();
  for (var k = 0u; k < STAGE_ITEMS; k++) {
    let item = lid + k * WG;
    if (item < TILE_CHUNKS * 2u) {
      let local = item / 2u;
      let amax = max(x_amax[2u * local], x_amax[2u * local + 1u]);
      let inv = select(0.0, 127.0 / amax, amax > 0.0);
      var words: array<u32, 4>;
      var sum = vec4<i32>(0);
      for (var w = 0u; w < 2u; w++) {
        let a = vec4<i32>(round(xv[4u * k + 2u * w] * inv));
        let b = vec4<i32>(round(xv[4u * k + 2u * w + 1u] * inv));
        words[2u * w] = pack4xI8(vec4<i32>(a.x, a.z, b.x, b.z));
        words[2u * w + 1u] = pack4xI8(vec4<i32>(a.y, a.w, b.y, b.w));
        sum += a + b;
      }
      x_stage[local * STAGE_STRIDE + item % 2u] = vec4<u32>(words[0], words[1], words[2], words[3]);
      x_qsum[item] = sum.x + sum.y + sum.z + sum.w;
      if (item % 2u == 0u) { x_scale[local] = amax / 127.0; }
    }
  }
#else
  for (var e = lid; e < TILE_CHUNKS * X_VECS; e += WG) {
    let local = e / X_VECS;
    let i = e % X_VECS;
    x_stage[local * STAGE_STRIDE + i] = x_vector(x_base4, min(c0 + local, chunks - 1u) * X_VECS + i) * NIBBLE_SCALE;
  }
#endif
  workgroupBarrier();
}

// Chunk `local` of the staged tile.
fn staged_x_chunk(local: u32) -> XChunk {
#ifdef X_INT8
  return XChunk(array<vec4<u32>, 2>(x_stage[local * STAGE_STRIDE], x_stage[local * STAGE_STRIDE + 1u]),
                x_scale[local], 8.0 * f32(x_qsum[2u * local] + x_qsum[2u * local + 1u]));
#else
  var chunk: XChunk;
  for (var i = 0u; i < X_VECS; i++) { chunk.v[i] = x_stage[local * STAGE_STRIDE + i]; }
  return chunk;
#endif
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
#ifdef X_INT8
  // Integer dot products of the nibbles (0..15, even and odd ones apart) with the int8 codes: exact sums, then
  // the bias and the scale once per chunk.
  let m = 0x0f0f0f0fu;
  let acc = dot4I8Packed(words.x & m, xc.q[0].x) + dot4I8Packed((words.x >> 4u) & m, xc.q[0].y)
          + dot4I8Packed(words.y & m, xc.q[0].z) + dot4I8Packed((words.y >> 4u) & m, xc.q[0].w)
          + dot4I8Packed(words.z & m, xc.q[1].x) + dot4I8Packed((words.z >> 4u) & m, xc.q[1].y)
          + dot4I8Packed(words.w & m, xc.q[1].z) + dot4I8Packed((words.w >> 4u) & m, xc.q[1].w);
  return (f32(acc) - xc.offset) * xc.scale;
#else
#ifdef WEIGHT_Q4
  return word_dot(words.x, xc.v[0], xc.v[1]) + word_dot(words.y, xc.v[2], xc.v[3])
       + word_dot(words.z, xc.v[4], xc.v[5]) + word_dot(words.w, xc.v[6], xc.v[7]);
#endif
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

// One chunk of a weight row and its scale, loaded before the x it meets (the GPU layouts issue a tile's weight
// loads ahead of staging its x).
struct RowChunk {
  words: vec4<u32>,
  scale: f32, // 1 for f16
}

fn row_chunk(row: u32, c: u32) -> RowChunk {
  return RowChunk(weight4[row * ROW_CHUNKS + c], chunk_scale(row, c));
}

fn row_chunk_dot(rc: RowChunk, xc: XChunk) -> f32 {
  return chunk_words_dot(rc.words, xc) * rc.scale;
}
