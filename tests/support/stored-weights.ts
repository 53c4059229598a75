// Weight storage choices the kernel tests run over, and the f32 values a stored weight stands for: the CPU
// references compute on exactly these (unpackMatrix of the packed words), so GPU and reference differ only by
// f32 accumulation order, whatever the format.
import type { GpuWeight, WeightStorage } from '../../engine/weights/gpu-weight';
import { packedChunkFits } from '../../engine/kernels/weight-args';
import { packMatrix, unpackMatrix, type StorageDtype } from '../../engine/weights/quant';
import { packedReduceDefines, type PackedMatvecShape } from '../../engine/kernels/matvec-shape';
import { xAsInt8Chunks } from '../reference/ops';

export interface Storage { dtype: StorageDtype; group: number }

export const PLAIN: Storage[] = [{ dtype: 'f32', group: 0 }, { dtype: 'f16', group: 0 }];
/** q8 and q4 over groups 16, 32 and 64 (each row of a K not a multiple of the group ends in a short group). */
export const QUANTISED: Storage[] = [
  { dtype: 'q8', group: 16 }, { dtype: 'q4', group: 32 }, { dtype: 'q8', group: 64 }, { dtype: 'q4', group: 16 },
];

export function storageName({ dtype, group }: Storage): string {
  return group ? `${dtype} g${group}` : dtype;
}

export function asUpload(storage: Storage): WeightStorage {
  return storage.group ? storage : storage.dtype;
}

/** The values a [..., K] weight holds once stored as `storage`. */
export function storedValues(values: Float32Array, k: number, { dtype, group }: Storage): Float32Array {
  const rows = values.length / k;
  return unpackMatrix(packMatrix(values, rows, k, dtype, group), rows, k, dtype, group);
}

/**
 * x [rows, k] as a packed kernel under `layout` reads it for `storage`: int8 chunks for q4 on the GPU layouts. With
 * `weight`, only where that weight takes the packed path at all (packedChunkFits).
 */
export function packedKernelX(x: Float32Array, k: number, layout: PackedMatvecShape, { dtype }: Storage, weight?: GpuWeight): Float32Array {
  if (weight && !packedChunkFits(weight)) return x;
  return packedReduceDefines(layout, dtype).X_INT8 ? xAsInt8Chunks(x, k) : x;
}
