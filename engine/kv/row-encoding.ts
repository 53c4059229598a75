// Storage encodings of latent cache rows, on the CPU. A row image is the f32 copy of `tokens` rows of every layer's
// caches in one Float32Array: per layer the latent rows [tokens, rKV + dR] (c then kR), then for V3.2 the indexer
// key rows [tokens, dI]. Each token's row in a layer splits into row parts (c, kR, indexer key) because their
// magnitudes differ (c is RMS-normed, kR and the indexer key are not).
//   f16: every value rounded to nearest-even f16; |x' - x| <= max(2^-11 |x|, 2^-25) for |x| <= 65504 (larger
//        finite values are clamped to ±65504 first, which never happens for normed latents in practice).
//   int8: per row part one f32 scale s = max|x| / 127 and codes q = round(x / s) in [-127, 127];
//        |x' - x| <= s / 2 = max|x| / 254 (+ f32 rounding of q·s, <= 2^-24 max|x|).
import type { ModelConfig } from '../config';
import { f32ToF16Bits } from '../weights/quant';
import { f16BitsToF32 } from '../weights/safetensors';

export type KvEncoding = 'f16' | 'int8';
export const KV_ENCODINGS: readonly KvEncoding[] = ['f16', 'int8'];

/** Widths of one model's cache rows. */
export interface LatentRowLayout {
  layers: number;
  latentWidth: number; // rKV + dR
  indexerWidth: number; // dI, or 0 without the DSA indexer
  /** Row part widths in image order within one layer's latent row: [rKV, dR]. */
  latentParts: number[];
}

/** `tokens` rows of every layer in one encoding; scales (int8 only) run in the order the image's row parts do. */
export interface EncodedRows {
  encoding: KvEncoding;
  tokens: number;
  values: Uint16Array | Int8Array; // f16 bits or int8 codes, image order
  scales: Float32Array | null; // int8: one per row part
}

export function rowLayout(config: ModelConfig): LatentRowLayout {
  return {
    layers: config.numLayers,
    latentWidth: config.kvLoraRank + config.qkRopeHeadDim,
    indexerWidth: config.indexer?.headDim ?? 0,
    latentParts: [config.kvLoraRank, config.qkRopeHeadDim],
  };
}

/** f32 values per token over all layers. */
export function valuesPerToken(layout: LatentRowLayout): number {
  return layout.layers * (layout.latentWidth + layout.indexerWidth);
}

export function rowPartsPerToken(layout: LatentRowLayout): number {
  return layout.layers * (layout.latentParts.length + (layout.indexerWidth > 0 ? 1 : 0));
}

/** Calls `visit(offset, width)` for every row part of an image of `tokens` rows, in image order. */
export function forEachRowPart(layout: LatentRowLayout, tokens: number, visit: (offset: number, width: number) => void): void {
  let offset = 0;
  for (let l = 0; l < layout.layers; l++) {
    for (let t = 0; t < tokens; t++) {
      for (const width of layout.latentParts) {
        visit(offset, width);
        offset += width;
      }
    }
    if (layout.indexerWidth > 0) {
      for (let t = 0; t < tokens; t++) {
        visit(offset, layout.indexerWidth);
        offset += layout.indexerWidth;
      }
    }
  }
}

const F16_MAX = 65504;

/** Round-to-nearest-even f32 → f16 bits, clamping finite values to ±65504 (see the header). */
export function f32ToF16Clamped(value: number): number {
  return f32ToF16Bits(Number.isFinite(value) ? Math.max(-F16_MAX, Math.min(F16_MAX, value)) : value);
}

/** f16 bits → value, by table (decoding is on the restore path the benchmark times); built on first use. */
let f16Table: Float32Array | null = null;

function f16Values(): Float32Array {
  f16Table ??= Float32Array.from({ length: 65536 }, (_, bits) => f16BitsToF32(bits));
  return f16Table;
}

export function encodeRows(image: Float32Array, layout: LatentRowLayout, tokens: number, encoding: KvEncoding): EncodedRows {
  if (image.length !== tokens * valuesPerToken(layout)) {
    throw new RangeError(`a row image of ${tokens} tokens holds ${tokens * valuesPerToken(layout)} values, got ${image.length}`);
  }
  if (encoding === 'f16') {
    const values = new Uint16Array(image.length);
    for (let i = 0; i < image.length; i++) values[i] = f32ToF16Clamped(image[i]);
    return { encoding, tokens, values, scales: null };
  }
  const values = new Int8Array(image.length);
  const scales = new Float32Array(tokens * rowPartsPerToken(layout));
  let part = 0;
  forEachRowPart(layout, tokens, (offset, width) => {
    let largest = 0;
    for (let i = offset; i < offset + width; i++) largest = Math.max(largest, Math.abs(image[i]));
    const scale = Math.fround(largest / 127);
    scales[part++] = scale;
    if (scale === 0) return;
    for (let i = offset; i < offset + width; i++) values[i] = Math.max(-127, Math.min(127, Math.round(image[i] / scale)));
  });
  return { encoding, tokens, values, scales };
}

export function decodeRows(rows: EncodedRows, layout: LatentRowLayout): Float32Array {
  const image = new Float32Array(rows.values.length);
  if (rows.encoding === 'f16') {
    const bits = rows.values as Uint16Array;
    const table = f16Values();
    for (let i = 0; i < bits.length; i++) image[i] = table[bits[i]];
    return image;
  }
  const codes = rows.values as Int8Array;
  const scales = rows.scales!;
  let part = 0;
  forEachRowPart(layout, rows.tokens, (offset, width) => {
    const scale = scales[part++];
    for (let i = offset; i < offset + width; i++) image[i] = codes[i] * scale;
  });
  return image;
}

/** The documented per-value error bound of `encoding` for value x of a row part whose largest |value| is `partMax`. */
export function encodingErrorBound(encoding: KvEncoding, x: number, partMax: number): number {
  if (encoding === 'f16') return Math.max(2 ** -11 * Math.abs(x), 2 ** -25);
  return partMax / 254 + 2 ** -24 * partMax;
}

/** Stored bytes of encoded rows (values + scales). */
export function encodedBytes(rows: EncodedRows): number {
  return rows.values.byteLength + (rows.scales?.byteLength ?? 0);
}
