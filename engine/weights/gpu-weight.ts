// Weights as they live on the GPU. A matrix [N, K] (PyTorch layout: N outputs, K inputs) is stored row-major so
// that a decode matrix-vector kernel reads each row contiguously, in one of the packed formats of quant.ts:
// `f32` K floats per row; `f16` two per u32 word; `q8` / `q4` four / eight codes per word plus one f16 scale per
// `group` elements, the scales of all rows after all rows' data (`scaleOffset` words in, `scaleRowStride` words
// per row), so one binding carries both. Stacked expert weights [E, N, K] are E·N rows of one such tensor.
import { createStorage } from '../gpu/buffers';
import { f16BitsToF32 } from './safetensors';
import { f32ToF16Bits, packedLayout, packMatrix, type StorageDtype } from './quant';
import type { PackedStream, PackedTensor } from './tensor-source';

export { f32ToF16Bits };

/** The unquantised storage formats (what the MLA kernels read). */
export type WeightDtype = 'f32' | 'f16';

export interface GpuWeight {
  buffer: GPUBuffer;
  dtype: StorageDtype;
  /** Logical shape; for stacked expert weights [E, N, K]. */
  shape: number[];
  /** Data words between consecutive rows (f32: elements). */
  rowStride: number;
  /** q8/q4: elements per f16 scale; 0 otherwise. */
  group: number;
  /** q8/q4: first scale word (after every row's data); 0 otherwise. */
  scaleOffset: number;
  /** q8/q4: scale words per row; 0 otherwise. */
  scaleRowStride: number;
}

export type WeightStorage = StorageDtype | { dtype: StorageDtype; group: number };

function rowsOf(label: string, elements: number, shape: number[]): number {
  const k = shape[shape.length - 1];
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (!(k > 0) || rows * k !== elements) throw new Error(`${label}: ${elements} values do not fill shape [${shape}]`);
  return rows;
}

function upload(device: GPUDevice, data: Uint32Array | Float32Array, label: string): GPUBuffer {
  const buffer = createStorage(device, data.byteLength, label);
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

function weightOf(buffer: GPUBuffer, shape: number[], dtype: StorageDtype, group: number): GpuWeight {
  const k = shape[shape.length - 1];
  const layout = packedLayout(dtype, shape.slice(0, -1).reduce((a, b) => a * b, 1), k, group);
  return {
    buffer, dtype, shape, rowStride: layout.rowWords, group: layout.group,
    scaleOffset: layout.scaleRowWords ? layout.scaleOffset : 0, scaleRowStride: layout.scaleRowWords,
  };
}

/** Packs and uploads a weight of logical shape [..., N, K] (leading dims flattened into rows). */
export function uploadWeight(device: GPUDevice, values: Float32Array, shape: number[], storage: WeightStorage, label: string): GpuWeight {
  const { dtype, group } = typeof storage === 'string' ? { dtype: storage, group: 0 } : storage;
  const rows = rowsOf(label, values.length, shape);
  const k = shape[shape.length - 1];
  const data = dtype === 'f32' ? values : packMatrix(values, rows, k, dtype, group);
  return weightOf(upload(device, data, label), shape, dtype, group);
}

/** Uploads an already packed tensor (a package's words) as it is. */
export function uploadPacked(device: GPUDevice, packed: PackedTensor, label: string): GpuWeight {
  const { dtype, shape, group, words } = packed;
  const k = shape[shape.length - 1];
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const layout = packedLayout(dtype, rows, k, group);
  if (words.length !== layout.words) {
    throw new Error(`${label}: packed ${dtype} [${shape}] holds ${words.length} words, its layout needs ${layout.words}`);
  }
  return weightOf(upload(device, words, label), shape, dtype, group);
}

/** Uploads a packed tensor that arrives in pieces (TensorStorage.streamed): each piece is written into the buffer
 *  as it comes, so no whole-tensor array is made in JS memory. */
export async function uploadStreamed(device: GPUDevice, stream: PackedStream, label: string): Promise<GpuWeight> {
  const { dtype, shape, group } = stream;
  const layout = packedLayout(dtype, shape.slice(0, -1).reduce((a, b) => a * b, 1), shape[shape.length - 1], group);
  if (stream.bytes !== layout.words * 4) {
    throw new Error(`${label}: packed ${dtype} [${shape}] holds ${stream.bytes} bytes, its layout needs ${layout.words * 4}`);
  }
  const buffer = createStorage(device, stream.bytes, label);
  let written = 0;
  try {
    await stream.read((bytes, at) => {
      device.queue.writeBuffer(buffer, at, bytes.buffer, bytes.byteOffset, bytes.byteLength);
      written += bytes.byteLength;
    });
    if (written !== stream.bytes) throw new Error(`${label}: ${written} of ${stream.bytes} bytes arrived`);
  } catch (error) {
    buffer.destroy();
    throw error;
  }
  return weightOf(buffer, shape, dtype, group);
}

/** The f32 values a weight holds after rounding to f32/f16 (what a CPU reference should use; q8/q4: unpackMatrix). */
export function roundToDtype(values: Float32Array, dtype: WeightDtype): Float32Array {
  if (dtype === 'f32') return values;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16BitsToF32(f32ToF16Bits(values[i]));
  return out;
}
