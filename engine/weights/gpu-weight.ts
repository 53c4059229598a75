// Weights as they live on the GPU. A matrix [N, K] (PyTorch layout: N outputs, K inputs) is stored row-major so
// that a decode matrix-vector kernel reads each row contiguously. `f32`: K floats per row. `f16`: two f16 per u32
// word, element 2i in the low half, each row padded to kWords = ceil(K/2) words (see shaders/common/weights.wgsl).
import { createStorage } from '../gpu/buffers';
import { f16BitsToF32 } from './safetensors';
import { f32ToF16Bits } from './quant';

export { f32ToF16Bits };

export type WeightDtype = 'f32' | 'f16';

export interface GpuWeight {
  buffer: GPUBuffer;
  dtype: WeightDtype;
  /** Logical shape; for stacked expert weights [E, N, K]. */
  shape: number[];
  /** Elements (f32) or u32 words (f16) between consecutive rows. */
  rowStride: number;
}

/** Packs a row-major [rows, K] f32 matrix as f16 pairs in u32 words, rows padded to ceil(K/2) words. */
export function packF16Rows(values: Float32Array, rows: number, k: number): Uint32Array {
  const kWords = Math.ceil(k / 2);
  const packed = new Uint32Array(rows * kWords);
  for (let r = 0; r < rows; r++) {
    for (let w = 0; w < kWords; w++) {
      const i = r * k + 2 * w;
      const lo = f32ToF16Bits(values[i]);
      const hi = 2 * w + 1 < k ? f32ToF16Bits(values[i + 1]) : 0;
      packed[r * kWords + w] = (lo | (hi << 16)) >>> 0;
    }
  }
  return packed;
}

/** Uploads a weight of logical shape [..., N, K] (leading dims flattened into rows). */
export function uploadWeight(device: GPUDevice, values: Float32Array, shape: number[], dtype: WeightDtype, label: string): GpuWeight {
  const k = shape[shape.length - 1];
  const rows = values.length / k;
  if (!Number.isInteger(rows)) throw new Error(`${label}: ${values.length} values do not fill shape [${shape}]`);
  const data = dtype === 'f16' ? packF16Rows(values, rows, k) : values;
  const buffer = createStorage(device, data.byteLength, label);
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return { buffer, dtype, shape, rowStride: dtype === 'f16' ? Math.ceil(k / 2) : k };
}

/** The f32 values a weight holds after rounding to its storage dtype (what a CPU reference should use). */
export function roundToDtype(values: Float32Array, dtype: WeightDtype): Float32Array {
  if (dtype === 'f32') return values;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16BitsToF32(f32ToF16Bits(values[i]));
  return out;
}
