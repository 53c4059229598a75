// RMSNorm of a kernel's input row inside the kernel that consumes it (NORM_INPUT): every workgroup reads the row of
// the residual stream, sums its squares and scales the x values it loads by weight · (x / rms), so the norm needs
// no dispatch of its own (a dependent dispatch costs ~10 µs on an H100 however little it does). One workgroup per
// row (the caller's choice) also writes the normed row for the kernels after it. Same per-element arithmetic as
// rms_norm.wgsl (weight · (x · inv)); only the order of the sum of squares differs.
// The includer declares x4: array<vec4<f32>> (rows of NORM_DIM / 4 vectors: the residual stream), norm_w4 (the
// norm weight as vec4s), normed4 (read_write, rows like x4), and defines WG, NORM_DIM (a multiple of 4), NORM_EPS.
// Include after "workgroup_sum".

const NORM_K4: u32 = NORM_DIM / 4u;
const NORM_PER: u32 = (NORM_K4 + WG - 1u) / WG; // vec4s a thread loads

var<private> x_inv: f32; // 1 / rms of the row, set by input_norm

// Sets x_inv for row t; with `write` (uniform) stores the normed row t into normed4. Uniform control flow only.
fn input_norm(t: u32, lid: u32, write: bool) {
  var v: array<vec4<f32>, NORM_PER>;
  for (var r = 0u; r < NORM_PER; r++) { v[r] = x4[t * NORM_K4 + min(lid + r * WG, NORM_K4 - 1u)]; }
  var sum = 0.0;
  for (var r = 0u; r < NORM_PER; r++) { sum += select(0.0, dot(v[r], v[r]), lid + r * WG < NORM_K4); }
  x_inv = inverseSqrt(workgroup_sum(lid, sum) / f32(NORM_DIM) + NORM_EPS);
  if (write) {
    for (var r = 0u; r < NORM_PER; r++) {
      let j = lid + r * WG;
      if (j < NORM_K4) { normed4[t * NORM_K4 + j] = norm_w4[j] * (v[r] * x_inv); }
    }
  }
}

// Vector j of row t's normed x (t's x_inv set by input_norm).
fn normed_x4(t: u32, j: u32) -> vec4<f32> {
  return norm_w4[j] * (x4[t * NORM_K4 + j] * x_inv);
}
