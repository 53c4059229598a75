// Tolerance checks for kernel and golden tests: |a - e| <= atol + rtol * |e| elementwise (llm.c style), with the
// worst element named in the failure message.
import { expect } from 'vitest';

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Tolerances per weight dtype for kernels computing in f32 against a float64 reference on the same weights. */
export const TOLERANCE: Record<'f32' | 'f16', Tolerance> = {
  f32: { atol: 1e-5, rtol: 1e-4 },
  f16: { atol: 1e-5, rtol: 1e-4 },
};

export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  return worst;
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, what = 'values'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worstIndex = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const bound = tol.atol + tol.rtol * Math.abs(expected[i]);
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= bound) && (worstIndex < 0 || diff - bound > worstExcess || Number.isNaN(diff))) {
      worstIndex = i;
      worstExcess = diff - bound;
    }
  }
  if (worstIndex >= 0) {
    expect.fail(`${what}: element ${worstIndex} is ${actual[worstIndex]}, expected ${expected[worstIndex]} ` +
      `(atol ${tol.atol}, rtol ${tol.rtol}; max abs diff ${maxAbsDiff(actual, expected)})`);
  }
}

/** Deterministic pseudo-random values in [-scale, scale) (mulberry32), so failures reproduce. */
export function randomArray(length: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}
