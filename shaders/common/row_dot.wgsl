// Matrix-vector building blocks shared by linear.wgsl and linear_experts.wgsl. Needs, declared by the includer:
// module-scope `x` (f32 activations) and `weight` (f32, or u32 words for f16/q8/q4, see "weights"), and the
// constants K (row length), ROW_STRIDE (data words per weight row) and THREADS_PER_ROW. Include after "weights".
// Quantised rows are read a whole u32 word per lane at a time (4 q8 or 8 q4 elements, one scale each).

const K_PAIRS: u32 = K / 2u;

// Element k of a weight row (the tails the paired/word loops leave).
fn weight_at(row_base: u32, k: u32) -> f32 {
  return weight_element(&weight, row_base, k);
}

#ifdef WEIGHT_QUANTISED
#ifdef WEIGHT_Q8
const PER_WORD: u32 = 4u;
#else
const PER_WORD: u32 = 8u;
#endif
const FULL_WORDS: u32 = K / PER_WORD;

fn x4(at: u32) -> vec4<f32> {
  return vec4<f32>(x[at], x[at + 1u], x[at + 2u], x[at + 3u]);
}

// This lane's share of W[row]·x[x_base..]: words lane, lane + THREADS_PER_ROW, ... plus the partial last word
// (K not a multiple of PER_WORD) on lane 0.
fn row_dot_partial(row: u32, x_base: u32, lane: u32) -> f32 {
  let row_base = row * ROW_STRIDE;
  let scale_base = SCALE_OFFSET + row * SCALE_ROW_STRIDE;
  var acc = 0.0;
  for (var w = lane; w < FULL_WORDS; w += THREADS_PER_ROW) {
    let word = weight[row_base + w];
    let k = w * PER_WORD;
    let g = k / GROUP;
    let scale = unpack2x16float(weight[scale_base + g / 2u])[g & 1u];
#ifdef WEIGHT_Q8
    let s = dot(q8_codes(word), x4(x_base + k));
#else
    let s = dot(q4_codes(word, 0u), x4(x_base + k)) + dot(q4_codes(word, 1u), x4(x_base + k + 4u));
#endif
    acc += scale * s;
  }
  if (lane == 0u) {
    for (var k = FULL_WORDS * PER_WORD; k < K; k++) {
      acc += weight_at(row_base, k) * x[x_base + k];
    }
  }
  return acc;
}
#else
// This lane's share of W[row]·x[x_base..]: pairs lane, lane + THREADS_PER_ROW, ... plus the odd tail on lane 0.
fn row_dot_partial(row: u32, x_base: u32, lane: u32) -> f32 {
  let row_base = row * ROW_STRIDE;
  var acc = 0.0;
  for (var p = lane; p < K_PAIRS; p += THREADS_PER_ROW) {
    let k = 2u * p;
    acc += dot(weight_pair(&weight, row_base, k), vec2<f32>(x[x_base + k], x[x_base + k + 1u]));
  }
  if (K % 2u == 1u && lane == 0u) {
    acc += weight_at(row_base, K - 1u) * x[x_base + K - 1u];
  }
  return acc;
}
#endif

fn silu(z: f32) -> f32 {
  return z / (1.0 + exp(-z));
}
