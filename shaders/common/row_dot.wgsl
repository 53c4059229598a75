// Matrix-vector building blocks shared by linear.wgsl and linear_experts.wgsl. Needs, declared by the includer:
// module-scope `x` (f32 activations) and `weight` (f32, or packed f16 words under WEIGHT_F16), and the constants
// K (row length), ROW_STRIDE (elements or words per weight row) and THREADS_PER_ROW. Include after "weights".

const K_PAIRS: u32 = K / 2u;

// Element k of a weight row, for the odd-K tail (k = K - 1) where weight_pair would run past the row.
fn weight_at(row_base: u32, k: u32) -> f32 {
#ifdef WEIGHT_F16
  return unpack2x16float(weight[row_base + k / 2u])[k % 2u];
#else
  return weight[row_base + k];
#endif
}

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

fn silu(z: f32) -> f32 {
  return z / (1.0 + exp(-z));
}
