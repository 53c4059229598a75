// A kv_b_proj whose value up-projection is the identity (dV = rKV, W_UV_h = I, W_UK_h one zero row), so that
// mlaValueUp's output is ô itself: the attention tests compare ô through the kernel that merges its shares.
import { uploadWeight, type GpuWeight } from '../../engine/weights/gpu-weight';

export const IDENTITY_DN = 1;

/** kv_b_proj [nH·(1 + rKV), rKV] f32 with W_UV_h = I for every head. */
export function identityValueWeight(device: GPUDevice, nH: number, rKV: number): GpuWeight {
  const rows = nH * (IDENTITY_DN + rKV);
  const values = new Float32Array(rows * rKV);
  for (let h = 0; h < nH; h++) {
    for (let i = 0; i < rKV; i++) values[(h * (IDENTITY_DN + rKV) + IDENTITY_DN + i) * rKV + i] = 1;
  }
  return uploadWeight(device, values, [rows, rKV], 'f32', 'kv_b_proj_identity');
}
