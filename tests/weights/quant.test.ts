// The packed storage formats (engine/weights/quant.ts): layouts, round trips, the error bound of q8/q4 against
// the values they encode, plain absmax as an upper bound on the searched scale's error, and stacking.
import { describe, expect, it } from 'vitest';
import { chooseScale, concatPacked, packMatrix, packedLayout, roundF16, unpackMatrix, type StorageDtype } from '../../engine/weights/quant';

function randomMatrix(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    out[i] = (u - 0.5) * 2 * (i % 17 === 0 ? 4 : 1); // some outliers
  }
  return out;
}

function squaredError(a: Float32Array, b: Float32Array): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e += (a[i] - b[i]) ** 2;
  return e;
}

/** Plain absmax quantisation with f16 scales: the baseline the searched scale must not lose to. */
function absmaxError(values: Float32Array, rows: number, k: number, dtype: 'q8' | 'q4', group: number): number {
  const qmax = dtype === 'q8' ? 127 : 7;
  let e = 0;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g * group < k; g++) {
      const start = r * k + g * group;
      const end = r * k + Math.min(k, (g + 1) * group);
      let absmax = 0;
      for (let i = start; i < end; i++) absmax = Math.max(absmax, Math.abs(values[i]));
      const scale = roundF16(absmax / qmax);
      for (let i = start; i < end; i++) {
        const q = scale ? Math.max(-qmax, Math.min(qmax, Math.round(values[i] / scale))) : 0;
        e += (values[i] - q * scale) ** 2;
      }
    }
  }
  return e;
}

describe('packed weight formats', () => {
  it('lays out rows and scales in u32 words', () => {
    expect(packedLayout('f32', 3, 5)).toMatchObject({ rowWords: 5, scaleRowWords: 0, words: 15 });
    expect(packedLayout('f16', 3, 5)).toMatchObject({ rowWords: 3, words: 9 });
    expect(packedLayout('q8', 3, 70, 32)).toMatchObject({ rowWords: 18, scaleRowWords: 2, scaleOffset: 54, words: 60 });
    expect(packedLayout('q4', 2, 33, 32)).toMatchObject({ rowWords: 5, scaleRowWords: 1, scaleOffset: 10, words: 12 });
    expect(() => packedLayout('q4', 2, 33, 12)).toThrow(/multiple of 8/);
  });

  it('f32 and f16 round-trip exactly (f16: to the f16-rounded values)', () => {
    const values = randomMatrix(7 * 13, 1);
    expect(unpackMatrix(packMatrix(values, 7, 13, 'f32'), 7, 13, 'f32')).toEqual(values);
    expect(unpackMatrix(packMatrix(values, 7, 13, 'f16'), 7, 13, 'f16')).toEqual(values.map(roundF16));
  });

  for (const [dtype, group] of [['q8', 32], ['q4', 32], ['q4', 16], ['q8', 64]] as const) {
    for (const [rows, k] of [[1, 1], [3, 31], [5, 70], [4, 257]]) {
      it(`${dtype}/g${group} [${rows}, ${k}]: values close, squared error no worse than absmax`, () => {
        const values = randomMatrix(rows * k, rows * 1000 + k);
        const packed = packMatrix(values, rows, k, dtype, group);
        expect(packed.length).toBe(packedLayout(dtype, rows, k, group).words);
        const back = unpackMatrix(packed, rows, k, dtype, group);
        for (let r = 0; r < rows; r++) {
          for (let g = 0; g * group < k; g++) {
            const start = r * k + g * group;
            const end = r * k + Math.min(k, (g + 1) * group);
            let absmax = 0;
            for (let i = start; i < end; i++) absmax = Math.max(absmax, Math.abs(values[i]));
            // The scale search may clip the largest element a little (it lowers the group's squared error).
            const bound = absmax / (dtype === 'q8' ? 15 : 3) + 1e-7;
            for (let i = start; i < end; i++) expect(Math.abs(back[i] - values[i])).toBeLessThanOrEqual(bound);
          }
        }
        expect(squaredError(values, back)).toBeLessThanOrEqual(absmaxError(values, rows, k, dtype, group) * (1 + 1e-9));
      });
    }
  }

  it('encodes an all-zero group as scale 0 and code 0', () => {
    const values = new Float32Array(40);
    values[35] = 1;
    const packed = packMatrix(values, 1, 40, 'q4', 32);
    expect(packed.slice(0, 4)).toEqual(new Uint32Array(4).fill(0x88888888));
    expect(unpackMatrix(packed, 1, 40, 'q4', 32)[35]).toBeCloseTo(1, 2);
    expect(chooseScale(values, 0, 32, 'q8')).toBe(0);
  });

  it('stacks packed tensors along rows like packing the stacked matrix', () => {
    for (const dtype of ['f32', 'f16', 'q8', 'q4'] as StorageDtype[]) {
      const group = dtype.startsWith('q') ? 32 : 0;
      const a = randomMatrix(3 * 45, 5);
      const b = randomMatrix(2 * 45, 6);
      const stacked = new Float32Array(5 * 45);
      stacked.set(a);
      stacked.set(b, a.length);
      const parts = [{ words: packMatrix(a, 3, 45, dtype, group), rows: 3 }, { words: packMatrix(b, 2, 45, dtype, group), rows: 2 }];
      expect(concatPacked(parts, 45, dtype, group)).toEqual(packMatrix(stacked, 5, 45, dtype, group));
    }
  });
});
