// The RMSNorm a kernel applies to its own input row (shaders/common/input_norm.wgsl, NORM_INPUT): the kernel reads
// the residual stream instead of a normed copy, so the norm before a layer's projections or its router costs no
// dispatch of its own. One workgroup per row writes the normed row to `normed` for the kernels that follow.
import { f32, type Defines } from '../gpu/preprocess';

export interface InputNorm {
  weight: GPUBuffer; // [dim] f32 RMSNorm weight
  eps: number;
  normed: GPUBuffer; // [T, dim] f32: the normed rows, written for later kernels
}

/** The NORM_INPUT defines for a row of `dim` (a multiple of 4); the two bindings start at `binding`. */
export function inputNormDefines(norm: InputNorm, dim: number, binding: number): Defines {
  if (dim % 4 !== 0) throw new Error(`input norm: the row width ${dim} must be a multiple of 4`);
  if (norm.weight.size < dim * 4) throw new Error(`input norm: weight (${norm.weight.size} bytes) holds fewer than ${dim} f32`);
  if (norm.normed.size < dim * 4) throw new Error(`input norm: normed (${norm.normed.size} bytes) holds less than one row of ${dim} f32`);
  return { NORM_INPUT: true, NORM_DIM: dim, NORM_EPS: f32(norm.eps), NORM_BINDING: binding };
}
