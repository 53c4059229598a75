// Weights too big for one GPU buffer. WebGPU caps one storage binding at the adapter's maxStorageBufferBindingSize
// (128 MiB on SwiftShader and many phones) and one buffer at maxBufferSize; DeepSeek-V2-Lite's lm_head
// [102400, 2048] in f16 is 400 MiB. A `SplitWeight` holds a [N, K] weight as parts of whole rows, each part its own
// GpuWeight [rows, K] in the same format (q8/q4 rows carry their own group scales, so a part is always a whole
// number of rows and of quantisation groups). A SwiGLU weight [2N, K] (gate rows, then up rows) splits by output:
// the part for outputs [a, b) holds gate rows [a, b) then up rows [N + a, N + b), itself a SwiGLU weight.
// The kernels that read weights row by row (linear / linearSwiGLU, including the lm_head, and the embedding
// gather) run once per part, each writing its slice of the output; every other kernel takes a GpuWeight that
// must fit one buffer (`fitsOneBuffer`), else ADAPTER_LIMITS says what the model needs and what the adapter offers.
import { EngineError } from '../errors';
import { uploadPacked, type GpuWeight } from './gpu-weight';
import { packedLayout, type StorageDtype } from './quant';
import { rowCount, type PackedTensor } from './tensor-source';

export interface WeightPart {
  firstRow: number; // first output (row of the logical [N, K] weight; SwiGLU: first gate row) this part holds
  weight: GpuWeight; // [rows, K] (SwiGLU: [2·rows, K])
}

export interface SplitWeight {
  shape: number[]; // logical [N, K] (SwiGLU: [2N, K])
  dtype: StorageDtype;
  parts: WeightPart[];
}

/** What the row-reading kernels accept: one buffer, or parts. */
export type RowsWeight = GpuWeight | SplitWeight;

export function isSplitWeight(weight: RowsWeight): weight is SplitWeight {
  return 'parts' in weight;
}

/** The parts of `weight` (a GpuWeight is one part from row 0). */
export function weightParts(weight: RowsWeight): WeightPart[] {
  return isSplitWeight(weight) ? weight.parts : [{ firstRow: 0, weight }];
}

/** Bytes of GPU buffers the weight occupies. */
export function weightBytes(weight: RowsWeight): number {
  return weightParts(weight).reduce((sum, part) => sum + part.weight.buffer.size, 0);
}

/**
 * The most bytes one weight buffer may hold on `device`: the smaller of its maxStorageBufferBindingSize and
 * maxBufferSize (engine/gpu/device.ts asks the adapter for its real ones), rounded down to 16 (buffers are
 * allocated in 16-byte steps); `cap` lowers it (tests force splits with a small one).
 */
export function weightBufferLimit(device: GPUDevice, cap?: number): number {
  const { maxStorageBufferBindingSize, maxBufferSize } = device.limits;
  const limit = Math.min(maxStorageBufferBindingSize, maxBufferSize, cap ?? Infinity);
  return Math.floor(limit / 16) * 16;
}

function adapterLimits(label: string, needed: string, limit: number, details: Record<string, unknown>): EngineError {
  return new EngineError('ADAPTER_LIMITS',
    `${label} needs ${needed}, but this GPU adapter allows at most ${limit} bytes per buffer ` +
    '(maxStorageBufferBindingSize / maxBufferSize). Use a smaller or more quantised model, or a GPU with larger limits.',
    { tensor: label, limit, ...details });
}

/** Throws ADAPTER_LIMITS unless `packed` fits one buffer of `limit` bytes (tensors the split kernels do not read). */
export function fitsOneBuffer(packed: PackedTensor, label: string, limit: number): void {
  const bytes = packed.words.length * 4;
  if (bytes > limit) throw adapterLimits(label, `one buffer of ${bytes} bytes`, limit, { bytes });
}

/** The packed tensor made of `ranges` of rows [start, end) of `packed`, in that order. */
export function takeRows(packed: PackedTensor, ranges: readonly [number, number][]): PackedTensor {
  const k = packed.shape[packed.shape.length - 1];
  const from = packedLayout(packed.dtype, rowCount(packed.shape), k, packed.group);
  const count = ranges.reduce((sum, [start, end]) => sum + end - start, 0);
  const to = packedLayout(packed.dtype, count, k, packed.group);
  const words = new Uint32Array(to.words);
  let row = 0;
  for (const [start, end] of ranges) {
    words.set(packed.words.subarray(start * from.rowWords, end * from.rowWords), row * to.rowWords);
    if (from.scaleRowWords) {
      const scales = packed.words.subarray(from.scaleOffset + start * from.scaleRowWords, from.scaleOffset + end * from.scaleRowWords);
      words.set(scales, to.scaleOffset + row * to.scaleRowWords);
    }
    row += end - start;
  }
  return { dtype: packed.dtype, shape: [count, k], group: packed.group, words };
}

/**
 * Uploads `packed` ([N, K], or [2N, K] gate then up rows when `swiglu`) as one buffer when it fits `limit` bytes,
 * else as parts of as many whole rows (outputs) as fit. ADAPTER_LIMITS when not even one row (one gate + up pair)
 * fits.
 */
export function uploadRowSplit(device: GPUDevice, packed: PackedTensor, label: string, limit: number, swiglu = false): RowsWeight {
  if (packed.words.length * 4 <= limit) return uploadPacked(device, packed, label);
  const [rows, k] = packed.shape;
  if (packed.shape.length !== 2) {
    throw adapterLimits(label, `one buffer of ${packed.words.length * 4} bytes (a stacked [${packed.shape}] tensor cannot be split)`, limit, {});
  }
  const outputs = swiglu ? rows / 2 : rows;
  const layout = packedLayout(packed.dtype, 1, k, packed.group);
  const bytesPerOutput = (layout.rowWords + layout.scaleRowWords) * 4 * (swiglu ? 2 : 1);
  const perPart = Math.floor(limit / bytesPerOutput);
  if (perPart < 1) {
    throw adapterLimits(label, `${bytesPerOutput} bytes for one ${swiglu ? 'gate + up row pair' : 'row'} of [${packed.shape}] ${packed.dtype}`, limit, { bytesPerOutput });
  }
  const parts: WeightPart[] = [];
  for (let a = 0; a < outputs; a += perPart) {
    const b = Math.min(outputs, a + perPart);
    const ranges: [number, number][] = swiglu ? [[a, b], [outputs + a, outputs + b]] : [[a, b]];
    parts.push({ firstRow: a, weight: uploadPacked(device, takeRows(packed, ranges), `${label}[${a}:${b}]`) });
  }
  return { shape: [rows, k], dtype: packed.dtype, parts };
}

/** The weight's one buffer, or null when it is split (callers then take a path that handles parts). */
export function oneBuffer(weight: RowsWeight): GpuWeight | null {
  return isSplitWeight(weight) ? null : weight;
}
