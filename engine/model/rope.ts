// Rotary position embedding constants for MLA and the DSA indexer, computed on the CPU exactly as transformers
// 5.17 does in float32 (shared/docs/deepseek-math.md §3.4–3.5): the dR/2 frequencies ω_i (plain or YaRN), the
// cos/sin amplitude ("attention scaling"), the MLA softmax scale τ, and the cos/sin table [positions, dR/2] that
// the GPU kernels read instead of calling WGSL sin/cos (which is only accurate on [−π, π]). Every step that
// PyTorch does in float32 is rounded with Math.fround here, so the table matches PyTorch to about one ulp.
// MLA pairs adjacent dims (2i, 2i+1) and the indexer pairs (i, i + dR/2); both use the same ω_i and table.

import type { ModelConfig, RopeConfig } from '../config';

const f32 = Math.fround;

/** YaRN's magnitude correction g(s, m) = 0.1·m·ln s + 1 (1 when s ≤ 1). */
function yarnMscale(factor: number, mscale = 1): number {
  return factor <= 1 ? 1 : 0.1 * mscale * Math.log(factor) + 1;
}

/** Inverse of the wavelength count: the dimension index whose frequency makes `rotations` turns over L0. */
function correctionDim(rotations: number, dim: number, theta: number, originalMax: number): number {
  return (dim * Math.log(originalMax / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
}

/** pos_i = θ^(2i/d) in float32, i = 0..d/2−1 (HF: `base ** (arange(0, d, 2).float() / d)`). */
function basePowers(theta: number, dim: number): Float32Array {
  const powers = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) powers[i] = f32(Math.pow(theta, f32((2 * i) / dim)));
  return powers;
}

/** The YaRN band [lo, hi] of dims that blend between original and interpolated frequencies (§3.5 step 2). */
function yarnBand(rope: RopeConfig, dim: number): { lo: number; hi: number } {
  const lo = Math.max(Math.floor(correctionDim(rope.betaFast, dim, rope.theta, rope.originalMaxPositions)), 0);
  let hi = Math.min(Math.ceil(correctionDim(rope.betaSlow, dim, rope.theta, rope.originalMaxPositions)), dim - 1);
  if (lo === hi) hi += 0.001; // HF's guard against a zero-width ramp
  return { lo, hi };
}

/** ω_i for i = 0..dR/2−1: [dR/2]. Plain RoPE: 1/θ^(2i/dR); YaRN: blend of ω and ω/s over the correction band. */
export function ropeFrequencies(config: ModelConfig): Float32Array {
  const dim = config.qkRopeHeadDim;
  const rope = config.rope;
  const powers = basePowers(rope.theta, dim);
  const omega = new Float32Array(dim / 2);
  if (rope.type === 'default') {
    for (let i = 0; i < dim / 2; i++) omega[i] = f32(1 / powers[i]);
    return omega;
  }
  const { lo, hi } = yarnBand(rope, dim);
  const factor = f32(rope.factor);
  for (let i = 0; i < dim / 2; i++) {
    const extrapolation = f32(1 / powers[i]);
    const interpolation = f32(1 / f32(factor * powers[i]));
    const ramp = Math.min(Math.max(f32(f32(i - lo) / f32(hi - lo)), 0), 1);
    const keepOriginal = f32(1 - ramp); // HF's inv_freq_extrapolation_factor
    omega[i] = f32(f32(interpolation * f32(1 - keepOriginal)) + f32(extrapolation * keepOriginal));
  }
  return omega;
}

/** cos/sin amplitude (§3.5 step 4): g(s, mscale)/g(s, mscale_all_dim) if both are set, else g(s, 1); 1 for plain. */
export function ropeAttentionScaling(config: ModelConfig): number {
  const rope = config.rope;
  if (rope.type === 'default') return 1;
  if (rope.mscale && rope.mscaleAllDim) {
    return yarnMscale(rope.factor, rope.mscale) / yarnMscale(rope.factor, rope.mscaleAllDim);
  }
  return yarnMscale(rope.factor);
}

/** τ = (dN + dR)^−0.5, times g(s, mscale_all_dim)² for YaRN with a non-zero mscale_all_dim (§3.5 step 5). */
export function mlaSoftmaxScale(config: ModelConfig): number {
  const base = Math.pow(config.qkNopeHeadDim + config.qkRopeHeadDim, -0.5);
  const rope = config.rope;
  if (rope.type === 'default' || !rope.mscaleAllDim) return base;
  const m = yarnMscale(rope.factor, rope.mscaleAllDim);
  return base * m * m;
}

/**
 * cos/sin tables, each [positions, dR/2] row-major: angle = f32(f32(p)·ω_i), then cos/sin, times the attention
 * scaling, rounded to f32 at each step as PyTorch does (cos computed in f32, then `* attention_scaling`).
 */
export function buildRopeTable(config: ModelConfig, positions: number): { cos: Float32Array; sin: Float32Array } {
  const omega = ropeFrequencies(config);
  const half = omega.length;
  const scaling = f32(ropeAttentionScaling(config)); // PyTorch multiplies by the scalar as f32
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f32(f32(p) * omega[i]);
      cos[p * half + i] = f32(f32(Math.cos(angle)) * scaling);
      sin[p * half + i] = f32(f32(Math.sin(angle)) * scaling);
    }
  }
  return { cos, sin };
}
