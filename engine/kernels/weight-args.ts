// What every weight-reading kernel (linear, experts, embedding) checks about a GpuWeight, and the WGSL defines
// that select its storage format in shaders/common/weights.wgsl: WEIGHT_F16 / WEIGHT_Q8 / WEIGHT_Q4 (none: f32;
// WEIGHT_WORDS: any but f32; WEIGHT_QUANTISED: q8 or q4),
// ROW_STRIDE (data words per row), GROUP (elements per scale), SCALE_OFFSET and SCALE_ROW_STRIDE (words).
import type { Defines } from '../gpu/preprocess';
import type { GpuWeight } from '../weights/gpu-weight';
import { packedLayout, STORAGE_DTYPES } from '../weights/quant';

/**
 * Validates a weight of logical shape [N, K] or [E, N, K] (`dims` dims): dtype, positive integer dims, a row stride
 * that holds K elements, scales that cover every group, and a buffer big enough for every row and scale.
 * Returns the shape.
 */
export function checkWeight(kernel: string, weight: GpuWeight, dims: number): number[] {
  const { shape, dtype, rowStride } = weight;
  if (!STORAGE_DTYPES.includes(dtype)) throw new Error(`${kernel}: weight dtype ${String(dtype)} is not one of ${STORAGE_DTYPES.join(', ')}`);
  if (shape.length !== dims || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${kernel}: weight shape [${shape}] is not ${dims} positive dims`);
  }
  const k = shape[dims - 1];
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const quantised = dtype === 'q8' || dtype === 'q4';
  const layout = packedLayout(dtype, 1, k, quantised ? weight.group : 0);
  if (!Number.isInteger(rowStride) || rowStride < layout.rowWords) {
    throw new Error(`${kernel}: weight rowStride ${rowStride} cannot hold K=${k} ${dtype} elements (needs ${layout.rowWords})`);
  }
  let words = rows * rowStride;
  if (quantised) {
    const { scaleOffset, scaleRowStride } = weight;
    if (!Number.isInteger(scaleRowStride) || scaleRowStride < layout.scaleRowWords) {
      throw new Error(`${kernel}: weight scaleRowStride ${scaleRowStride} cannot hold the ${Math.ceil(k / weight.group)} scales of a row`);
    }
    if (!Number.isInteger(scaleOffset) || scaleOffset < words) {
      throw new Error(`${kernel}: weight scaleOffset ${scaleOffset} overlaps the ${words} data words`);
    }
    words = scaleOffset + rows * scaleRowStride;
  }
  if (weight.buffer.size < words * 4) {
    throw new Error(`${kernel}: weight buffer of ${weight.buffer.size} bytes is smaller than [${shape}] ${dtype} (${words * 4})`);
  }
  if (words >= 2 ** 32) throw new Error(`${kernel}: weight [${shape}] is too large for u32 indexing`);
  return shape;
}

/** The storage-format defines of `weight` for shaders/common/weights.wgsl. */
export function weightDefines(weight: GpuWeight): Defines {
  return {
    WEIGHT_WORDS: weight.dtype !== 'f32',
    WEIGHT_QUANTISED: weight.dtype === 'q8' || weight.dtype === 'q4',
    WEIGHT_F16: weight.dtype === 'f16',
    WEIGHT_Q8: weight.dtype === 'q8',
    WEIGHT_Q4: weight.dtype === 'q4',
    ROW_STRIDE: weight.rowStride,
    GROUP: weight.group,
    SCALE_OFFSET: weight.scaleOffset,
    SCALE_ROW_STRIDE: weight.scaleRowStride,
  };
}

const CHUNK_ELEMENTS: Partial<Record<GpuWeight['dtype'], number>> = { f16: 8, q8: 16, q4: 32 };

/**
 * Whether the packed-chunk matrix-vector kernels (shaders/common/packed_chunk.wgsl) can read `weight` [.., K]:
 * f16/q8/q4 with K and the scale group multiples of the 16-byte chunk (8 f16, 16 q8, 32 q4 elements) and a
 * 16-byte-aligned row stride. Every DeepSeek projection fits; odd test shapes take the element-pair kernels.
 */
export function packedChunkFits(weight: GpuWeight): boolean {
  const chunk = CHUNK_ELEMENTS[weight.dtype];
  if (!chunk) return false;
  const k = weight.shape[weight.shape.length - 1];
  const quantised = weight.dtype !== 'f16';
  return k % chunk === 0 && weight.rowStride % 4 === 0 && (!quantised || weight.group % chunk === 0);
}
