// Storage formats of weight matrices, shared by the converter (writes them into packages), the loader (uploads
// them to the GPU as they are) and the kernels' CPU references (reads them back). A matrix is [rows, K], K the
// input dimension (PyTorch layout), rows row-major; stacked experts [E, N, K] are E·N rows. Everything is u32
// words, little-endian, so shaders need no `shader-f16`:
//   f32: K words per row (the float's bits).
//   f16: ceil(K/2) words per row; element 2i in the low half.
//   q8:  ceil(K/4) words per row; element 4i in the low byte, int8 two's complement; value = q · scale.
//   q4:  ceil(K/8) words per row; element 8i in the low nibble, stored q + 8 (q in [-8, 7]); value = q · scale.
// q8/q4 carry one f16 scale per group of G consecutive elements of a row (the last group may be short), packed two
// per word (group 2j in the low half), ceil(ceil(K/G)/2) words per row. A quantised tensor is one run of words:
// all rows' data, then all rows' scales (`scaleOffset` words in), so a GPU buffer binds both with one binding.
// Row padding is zero (q4: the nibble 8, i.e. value 0).
import { f16BitsToF32 } from './safetensors';

export type StorageDtype = 'f32' | 'f16' | 'q8' | 'q4';
export const STORAGE_DTYPES: readonly StorageDtype[] = ['f32', 'f16', 'q8', 'q4'];

export function isQuantised(dtype: StorageDtype): dtype is 'q8' | 'q4' {
  return dtype === 'q8' || dtype === 'q4';
}

/** Where things lie in a packed [rows, K] tensor, in u32 words. */
export interface PackedLayout {
  dtype: StorageDtype;
  rows: number;
  k: number;
  group: number; // elements per scale (q8/q4); 0 for f32/f16
  rowWords: number; // data words per row
  scaleRowWords: number; // scale words per row (0 for f32/f16)
  scaleOffset: number; // first scale word = rows · rowWords
  words: number; // total
}

const ELEMENTS_PER_WORD: Record<StorageDtype, number> = { f32: 1, f16: 2, q8: 4, q4: 8 };

export function packedLayout(dtype: StorageDtype, rows: number, k: number, group = 0): PackedLayout {
  const quantised = isQuantised(dtype);
  if (quantised && !(Number.isInteger(group) && group > 0 && group % 8 === 0)) {
    throw new Error(`${dtype}: group size must be a positive multiple of 8, not ${group}`);
  }
  const rowWords = Math.ceil(k / ELEMENTS_PER_WORD[dtype]);
  const scaleRowWords = quantised ? Math.ceil(Math.ceil(k / group) / 2) : 0;
  const scaleOffset = rows * rowWords;
  return {
    dtype, rows, k, group: quantised ? group : 0, rowWords, scaleRowWords, scaleOffset,
    words: scaleOffset + rows * scaleRowWords,
  };
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Round-to-nearest-even f32 -> f16 bits (with subnormals, overflow to inf). */
export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) {
    r++;
    if (r === 0x400) { r = 0; e++; if (e >= 0x1f) return sign | 0x7c00; }
  }
  return sign | (e << 10) | r;
}

export function roundF16(value: number): number {
  return f16BitsToF32(f32ToF16Bits(value));
}

/** Integer range of a quantised code: q8 [-127, 127] (symmetric), q4 [-8, 7]. */
const Q_RANGE = { q8: { lo: -127, hi: 127 }, q4: { lo: -8, hi: 7 } } as const;

/**
 * The scale of one group: absmax quantisation, then a small search over scales around it that keeps the one with
 * the least squared error (a slightly smaller scale often wins by clipping one outlier less than it rounds the rest
 * better). q4 also tries the signed form that maps the largest-magnitude element to -8, using all 16 codes. The
 * scale is rounded to f16 before it is judged, because that is the scale the kernels use.
 */
export function chooseScale(values: ArrayLike<number>, start: number, end: number, dtype: 'q8' | 'q4'): number {
  let absmax = 0;
  let extreme = 0;
  for (let i = start; i < end; i++) {
    const a = Math.abs(values[i]);
    if (a > absmax) { absmax = a; extreme = values[i]; }
  }
  if (absmax === 0) return 0;
  const { lo, hi } = Q_RANGE[dtype];
  const candidates: number[] = [];
  for (let step = 0; step <= 8; step++) candidates.push(absmax / (hi + step * (dtype === 'q4' ? 0.25 : 1)));
  if (dtype === 'q4') candidates.push(Math.abs(extreme / lo));
  let best = 0;
  let bestError = Infinity;
  for (const candidate of candidates) {
    const scale = roundF16(candidate);
    if (!(scale > 0) || !Number.isFinite(scale)) continue;
    let error = 0;
    for (let i = start; i < end; i++) {
      const q = Math.min(hi, Math.max(lo, Math.round(values[i] / scale)));
      const d = values[i] - q * scale;
      error += d * d;
    }
    if (error < bestError) { bestError = error; best = scale; }
  }
  return best;
}

/** Packs a row-major [rows, K] f32 matrix into `dtype` (see the header for the layout). */
export function packMatrix(values: Float32Array, rows: number, k: number, dtype: StorageDtype, group = 0): Uint32Array {
  if (values.length !== rows * k) throw new Error(`packMatrix: ${values.length} values do not fill [${rows}, ${k}]`);
  const layout = packedLayout(dtype, rows, k, group);
  const out = new Uint32Array(layout.words);
  if (dtype === 'f32') {
    out.set(new Uint32Array(values.buffer, values.byteOffset, values.length));
    return out;
  }
  for (let r = 0; r < rows; r++) {
    const base = r * k;
    const dataBase = r * layout.rowWords;
    if (dtype === 'f16') {
      for (let i = 0; i < k; i++) out[dataBase + (i >> 1)] |= f32ToF16Bits(values[base + i]) << (16 * (i & 1));
      continue;
    }
    const perWord = ELEMENTS_PER_WORD[dtype];
    const bits = 32 / perWord;
    const mask = (1 << bits) - 1;
    const { lo, hi } = Q_RANGE[dtype];
    const bias = dtype === 'q4' ? 8 : 0;
    if (dtype === 'q4') for (let w = 0; w < layout.rowWords; w++) out[dataBase + w] = 0x88888888;
    for (let g = 0; g * group < k; g++) {
      const start = base + g * group;
      const end = base + Math.min(k, (g + 1) * group);
      const scale = chooseScale(values, start, end, dtype);
      const scaleWord = layout.scaleOffset + r * layout.scaleRowWords + (g >> 1);
      out[scaleWord] |= f32ToF16Bits(scale) << (16 * (g & 1));
      for (let i = start; i < end; i++) {
        const q = scale === 0 ? 0 : Math.min(hi, Math.max(lo, Math.round(values[i] / scale)));
        const e = i - base;
        const word = dataBase + Math.floor(e / perWord);
        const shift = bits * (e % perWord);
        out[word] = ((out[word] & ~(mask << shift)) | (((q + bias) & mask) << shift)) >>> 0;
      }
    }
  }
  return out;
}

/** The f32 values a packed matrix stands for (what the kernels compute with): the CPU reference's view. */
export function unpackMatrix(words: Uint32Array, rows: number, k: number, dtype: StorageDtype, group = 0): Float32Array {
  const layout = packedLayout(dtype, rows, k, group);
  if (words.length < layout.words) throw new Error(`unpackMatrix: ${words.length} words, [${rows}, ${k}] ${dtype} needs ${layout.words}`);
  const out = new Float32Array(rows * k);
  if (dtype === 'f32') {
    out.set(new Float32Array(words.buffer, words.byteOffset, rows * k));
    return out;
  }
  for (let r = 0; r < rows; r++) {
    const dataBase = r * layout.rowWords;
    for (let i = 0; i < k; i++) {
      let value: number;
      if (dtype === 'f16') {
        value = f16BitsToF32((words[dataBase + (i >> 1)] >>> (16 * (i & 1))) & 0xffff);
      } else {
        const g = Math.floor(i / group);
        const scaleBits = (words[layout.scaleOffset + r * layout.scaleRowWords + (g >> 1)] >>> (16 * (g & 1))) & 0xffff;
        const scale = f16BitsToF32(scaleBits);
        const q = dtype === 'q8'
          ? ((words[dataBase + (i >> 2)] >>> (8 * (i & 3))) << 24) >> 24
          : ((words[dataBase + (i >> 3)] >>> (4 * (i & 7))) & 0xf) - 8;
        value = q * scale;
      }
      out[r * k + i] = value;
    }
  }
  return out;
}

/** Stacks packed tensors of the same K, dtype and group along rows (data regions, then scale regions). */
export function concatPacked(parts: readonly { words: Uint32Array; rows: number }[], k: number, dtype: StorageDtype, group = 0): Uint32Array {
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const layout = packedLayout(dtype, rows, k, group);
  const out = new Uint32Array(layout.words);
  let dataAt = 0;
  let scaleAt = layout.scaleOffset;
  for (const part of parts) {
    const own = packedLayout(dtype, part.rows, k, group);
    if (part.words.length !== own.words) throw new Error(`concatPacked: a part of ${part.rows} rows has ${part.words.length} words, not ${own.words}`);
    out.set(part.words.subarray(0, own.scaleOffset), dataAt);
    dataAt += own.scaleOffset;
    if (own.scaleRowWords) {
      out.set(part.words.subarray(own.scaleOffset), scaleAt);
      scaleAt += part.rows * own.scaleRowWords;
    }
  }
  return out;
}
