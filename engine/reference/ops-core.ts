// Elementwise and per-row float64 reference ops (linear, norms, SwiGLU, the two RoPE layouts, embedding,
// softmax, argmax). Row-major arrays; inputs are any ArrayLike<number>, outputs fresh Float64Arrays unless the
// function says it works in place. Import them through `./ops`, which re-exports this file.

/** Round half to even, as WGSL's round(). */
function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * x as the q4 products of the GPU layouts read it (X_INT8, shaders/common/packed_chunk.wgsl): each row of `k`
 * values in chunks of 32, each chunk's values replaced by round(x · 127 / max|x|) · (max|x| / 127) in f32 steps
 * (an all-zero chunk stays zero). `k` a multiple of 32.
 */
export function xAsInt8Chunks(x: ArrayLike<number>, k: number): Float32Array {
  if (k % 32 !== 0 || x.length % k !== 0) throw new Error(`xAsInt8Chunks: rows of ${k} are not whole 32-value chunks`);
  const out = new Float32Array(x.length);
  for (let start = 0; start < x.length; start += 32) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(Math.fround(x[start + i])));
    const inv = amax > 0 ? Math.fround(127 / amax) : 0;
    const scale = Math.fround(amax / 127);
    for (let i = 0; i < 32; i++) out[start + i] = roundEven(Math.fround(Math.fround(x[start + i]) * inv)) * scale;
  }
  return out;
}

/** y = x·wᵀ: x [rows, inDim], w [outDim, inDim] (PyTorch layout) → [rows, outDim]. */
export function linear(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  rows: number,
  outDim: number,
  inDim: number,
): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let acc = 0;
      for (let i = 0; i < inDim; i++) acc += x[r * inDim + i] * w[o * inDim + i];
      y[r * outDim + o] = acc;
    }
  }
  return y;
}

/** RMSNorm per row: y = w ⊙ x / sqrt(mean(x²) + eps). x [rows, dim], weight [dim] or null (= ones). */
export function rmsNorm(
  x: ArrayLike<number>,
  weight: ArrayLike<number> | null,
  rows: number,
  dim: number,
  eps: number,
): Float64Array {
  const y = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let sumSq = 0;
    for (let i = 0; i < dim; i++) sumSq += x[r * dim + i] ** 2;
    const inv = 1 / Math.sqrt(sumSq / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = x[r * dim + i] * inv * (weight ? weight[i] : 1);
  }
  return y;
}

/** LayerNorm per row with biased variance: y = w ⊙ (x − mean)/sqrt(var + eps) + b. x [rows, dim]. */
export function layerNorm(
  x: ArrayLike<number>,
  weight: ArrayLike<number> | null,
  bias: ArrayLike<number> | null,
  rows: number,
  dim: number,
  eps: number,
): Float64Array {
  const y = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[r * dim + i];
    mean /= dim;
    let variance = 0;
    for (let i = 0; i < dim; i++) variance += (x[r * dim + i] - mean) ** 2;
    variance /= dim;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < dim; i++) {
      const normed = (x[r * dim + i] - mean) * inv;
      y[r * dim + i] = normed * (weight ? weight[i] : 1) + (bias ? bias[i] : 0);
    }
  }
  return y;
}

/** silu(z) = z·σ(z). */
export function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}

/** SwiGLU's elementwise part: silu(gate) ⊙ up, same length as its inputs. */
export function swiglu(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  const y = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) y[i] = silu(gate[i]) * up[i];
  return y;
}

type RopeVector = Float64Array | Float32Array | number[];

/** Rotates dR/2 pairs in place: pair i is (x[first], x[first + gap]) with first = offset + i·step, by angle φ_i at pos. */
function ropePairs(x: RopeVector, offset: number, dR: number, cos: ArrayLike<number>, sin: ArrayLike<number>, pos: number,
  step: number, gap: number): void {
  const half = dR / 2;
  for (let i = 0; i < half; i++) {
    const c = cos[pos * half + i];
    const s = sin[pos * half + i];
    const first = offset + i * step;
    const a = x[first];
    const b = x[first + gap];
    x[first] = a * c - b * s;
    x[first + gap] = a * s + b * c;
  }
}

/**
 * MLA RoPE, in place on x[offset, offset+dR): adjacent pairs (x[2i], x[2i+1]) rotated by angle φ_i at `pos`,
 * output kept interleaved (official DeepSeek layout; HF V3 de-interleaves, which leaves every score unchanged).
 * cos/sin: [positions, dR/2] as built by buildRopeTable.
 */
export function ropeAdjacent(x: RopeVector, offset: number, dR: number, cos: ArrayLike<number>, sin: ArrayLike<number>, pos: number): void {
  ropePairs(x, offset, dR, cos, sin, pos, 2, 1);
}

/** Indexer RoPE, in place on x[offset, offset+dR): half-split pairs (x[i], x[i + dR/2]), half layout kept. */
export function ropeHalf(x: RopeVector, offset: number, dR: number, cos: ArrayLike<number>, sin: ArrayLike<number>, pos: number): void {
  ropePairs(x, offset, dR, cos, sin, pos, 1, dR / 2);
}

/** Rows of `table` [vocab, dim] for each id → [ids.length, dim]. */
export function embedding(table: ArrayLike<number>, ids: ArrayLike<number>, dim: number): Float64Array {
  const y = new Float64Array(ids.length * dim);
  for (let t = 0; t < ids.length; t++) {
    for (let i = 0; i < dim; i++) y[t * dim + i] = table[ids[t] * dim + i];
  }
  return y;
}

/** Index of the largest value (first one on ties). */
export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** Numerically stable softmax of one vector; −Infinity entries get probability exactly 0. */
export function softmax(v: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) max = Math.max(max, v[i]);
  const p = new Float64Array(v.length);
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    p[i] = v[i] === -Infinity ? 0 : Math.exp(v[i] - max);
    sum += p[i];
  }
  for (let i = 0; i < v.length; i++) p[i] /= sum;
  return p;
}
