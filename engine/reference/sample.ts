// CPU reference of the token sampler (shaders/sample.wgsl), in f32 arithmetic like the kernel: repetition penalty
// on seen ids, top-k by (value desc, id asc), temperature, top-p over the top-k candidates, and the draw with the
// same PCG-hashed uniform. `candidateDistribution` gives the exact probabilities the draw follows (for the
// statistical test); `sampleToken` the id the kernel should pick for the same seed and counter.
import { effectiveTopK, type SamplingSettings } from '../kernels/sample';

const f = Math.fround;
const LOWEST = -3.4028234663852886e38;

/** PCG hash (O'Neill's pcg32 RXS-M-XS output on one LCG step), u32 → u32. */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The uniform in [0, 1) the kernel draws for (seed, counter): 24 random bits, exact in f32. */
export function sampleUniform(seed: number, counter: number): number {
  return (pcgHash((seed ^ pcgHash(counter)) >>> 0) >>> 8) / 16777216;
}

export function penalisedLogits(logits: ArrayLike<number>, seen: Iterable<number>, penalty: number): Float32Array {
  const out = Float32Array.from(logits, (x) => (Number.isNaN(x) ? LOWEST : x));
  if (penalty === 1) return out;
  for (const id of new Set(seen)) {
    const x = out[id];
    out[id] = x > 0 ? f(x / penalty) : f(x * penalty);
  }
  return out;
}

export interface Candidates {
  ids: number[]; // top-k ids, best first
  values: number[]; // their penalised logits
}

export function topCandidates(values: Float32Array, k: number): Candidates {
  const order = Array.from(values.keys());
  order.sort((a, b) => (values[b] - values[a]) || a - b);
  const ids = order.slice(0, k);
  return { ids, values: ids.map((i) => values[i]) };
}

/** Unnormalised f32 weights of the candidates kept by top-p, in candidate order (kernel's arithmetic). */
function keptWeights(values: number[], temperature: number, topP: number): number[] {
  const top = f(values[0] / temperature);
  const weights = values.map((v) => f(Math.exp(f(f(v / temperature) - top))));
  let total = 0;
  for (const w of weights) total = f(total + w);
  const limit = f(topP * total);
  const kept: number[] = [];
  let mass = 0;
  for (let i = 0; i < weights.length; i++) {
    if (i > 0 && mass >= limit) break;
    mass = f(mass + weights[i]);
    kept.push(weights[i]);
  }
  return kept;
}

function candidatesFor(logits: ArrayLike<number>, seen: Iterable<number>, s: SamplingSettings): Candidates {
  const values = penalisedLogits(logits, seen, s.repetitionPenalty);
  return topCandidates(values, effectiveTopK(s.topK, values.length));
}

/** Exact sampling distribution: id → probability (greedy: the argmax with probability 1). */
export function candidateDistribution(logits: ArrayLike<number>, seen: Iterable<number>, s: SamplingSettings): Map<number, number> {
  const c = candidatesFor(logits, seen, s);
  if (s.temperature <= 0) return new Map([[c.ids[0], 1]]);
  const kept = keptWeights(c.values, s.temperature, s.topP);
  const total = kept.reduce((a, b) => a + b, 0);
  return new Map(kept.map((w, i) => [c.ids[i], w / total]));
}

/** The id the kernel picks for this seed and counter. */
export function sampleToken(logits: ArrayLike<number>, seen: Iterable<number>, s: SamplingSettings, counter: number): number {
  const c = candidatesFor(logits, seen, s);
  if (s.temperature <= 0) return c.ids[0];
  const kept = keptWeights(c.values, s.temperature, s.topP);
  let mass = 0;
  for (const w of kept) mass = f(mass + w);
  const target = f(sampleUniform(s.seed, counter) * mass);
  let acc = 0;
  for (let i = 0; i < kept.length; i++) {
    acc = f(acc + kept[i]);
    if (acc > target) return c.ids[i];
  }
  return c.ids[kept.length - 1];
}
