// Two projections of the same input in one decode dispatch (linear_packed.wgsl's PAIR variant): y = W·x and
// y2 = W2·x, e.g. an attention layer's q_proj (or q_a_proj) and kv_a_proj_with_mqa, which both read the normed
// hidden state. Only for packed-chunk weights of one format (projectionsPair): workgroups [0, GROUPS_1) take W,
// the rest W2. Steps of several rows on GPUs (prefill) run the two projections' own `linear` calls instead, so they
// keep the tiled matmul; on CPU adapters the pair runs once per row (workgroup_id.z) like linear's matrix-vector.
// `norm`: the input is the residual stream and the layer's input RMSNorm runs inside the pair (input-norm.ts),
// which also writes the normed rows to norm.normed; GPU steps of several rows run an rmsNorm dispatch first.
// `third` (with `norm`): one more projection of the normed input with f32 weights in the same dispatch (TRIPLE;
// V3.2's indexer wk and weights_proj beside q_a_proj and kv_a_proj_with_mqa), where projectionsTriple allows.
import packedSource from '../../shaders/linear_packed.wgsl';
import type { GpuContext, KernelCall } from '../gpu/context';
import type { GpuWeight } from '../weights/gpu-weight';
import { inputNormDefines, type InputNorm } from './input-norm';
import { checkRows, foldGrid, linear, packedDefines, rowsFitting } from './linear';
import { rmsNorm } from './rms-norm';
import { packedRowsPerWorkgroup } from './matvec-shape';
import { checkWeight, packedChunkFits } from './weight-args';

export interface Projection {
  weight: GpuWeight; // [N, K]
  output: GPUBuffer; // [T, N] f32
}

/**
 * Whether the device allows the storage buffers a pair dispatch binds: x, W, y, W2, y2, each quantised weight's
 * buffer once more as words (its scales), with an input norm its weight and the normed rows (9 for q8/q4 with a
 * norm), with a third projection W3 and y3.
 */
function pairFitsDevice(ctx: GpuContext, quantised: boolean, norm: boolean, third: boolean): boolean {
  return 5 + (quantised ? 2 : 0) + (norm ? 2 : 0) + (third ? 2 : 0) <= ctx.device.limits.maxStorageBuffersPerShaderStage;
}

/**
 * Whether `a` and `b` can share one pair dispatch on `ctx`, with an input norm inside when `norm`: packed-chunk
 * weights of one format and K, and few enough storage buffers for the device (WebGPU's default allows 8).
 */
export function projectionsPair(ctx: GpuContext, a: GpuWeight, b: GpuWeight, norm = false): boolean {
  return ctx.packedMatvec !== null && packedChunkFits(a) && packedChunkFits(b) && a.dtype === b.dtype
    && a.group === b.group && a.rowStride === b.rowStride && a.scaleRowStride === b.scaleRowStride
    && a.shape[a.shape.length - 1] === b.shape[b.shape.length - 1]
    && pairFitsDevice(ctx, a.dtype !== 'f16', norm, false);
}

/**
 * Whether an f32 projection `c` of the same K can ride in the pair dispatch of `a` and `b` (with the input norm):
 * its weight as one plain f32 row-major buffer, and two storage buffers more within the device's limit.
 */
export function projectionsTriple(ctx: GpuContext, a: GpuWeight, b: GpuWeight, c: GpuWeight): boolean {
  const k = a.shape[a.shape.length - 1];
  return projectionsPair(ctx, a, b, true) && c.dtype === 'f32' && c.shape.length === 2 && c.shape[1] === k
    && c.rowStride === k && k % 4 === 0
    && pairFitsDevice(ctx, a.dtype !== 'f16', true, true);
}

export function linearPair(ctx: GpuContext, input: GPUBuffer, first: Projection, second: Projection, norm?: InputNorm,
  third?: Projection): KernelCall {
  const name = 'linear_pair';
  const [n, k] = checkWeight(name, first.weight, 2);
  const [n2] = checkWeight(name, second.weight, 2);
  const layout = ctx.packedShapeFor('linear');
  if (!layout || !projectionsPair(ctx, first.weight, second.weight, norm !== undefined)) {
    throw new Error(`${name}: [${first.weight.shape}] ${first.weight.dtype} and [${second.weight.shape}] ${second.weight.dtype} cannot share a dispatch; run two linear calls`);
  }
  if (third && !(norm && projectionsTriple(ctx, first.weight, second.weight, third.weight))) {
    throw new Error(`${name}: [${third.weight.shape}] ${third.weight.dtype} cannot ride in this pair's dispatch (f32, K ${k}, with the input norm); run a linear call`);
  }
  const n3 = third ? third.weight.shape[0] : 0;
  const maxRows = Math.min(rowsFitting(name, 'input', input, k), rowsFitting(name, 'output', first.output, n),
    rowsFitting(name, 'second output', second.output, n2), norm ? rowsFitting(name, 'normed', norm.normed, k) : Infinity,
    third ? rowsFitting(name, 'third output', third.output, n3) : Infinity);
  const rowsPerGroup = packedRowsPerWorkgroup(layout);
  const groups1 = Math.ceil(n / rowsPerGroup);
  const groups2 = Math.ceil(n2 / rowsPerGroup);
  const groups = groups1 + groups2 + Math.ceil(n3 / rowsPerGroup);
  const [gridX, gridY] = foldGrid(name, groups);
  const quantised = first.weight.dtype !== 'f16';
  const pipeline = ctx.pipeline('linear_packed', packedSource, {
    ...packedDefines(layout, k, n, first.weight, gridX, false, false),
    PAIR: true, N2: n2, GROUPS_1: groups1, SCALE_OFFSET_2: second.weight.scaleOffset, PAIR_BINDING: quantised ? 5 : 4,
    ...(norm ? inputNormDefines(norm, k, quantised ? 8 : 6) : {}),
    ...(third ? { TRIPLE: true, N3: n3, GROUPS_2: groups2, TRIPLE_BINDING: quantised ? 10 : 8 } : {}),
  });
  const bindings = [ctx.step, input, first.weight.buffer, first.output, ...(quantised ? [first.weight.buffer] : []),
    second.weight.buffer, second.output, ...(quantised ? [second.weight.buffer] : []), ...(norm ? [norm.weight, norm.normed] : []),
    ...(third ? [third.weight.buffer, third.output] : [])];
  const group = ctx.bindGroup(pipeline, bindings, name);
  const projectionInput = norm ? norm.normed : input;
  const separate = ctx.rowsKernel === 'matmul'
    ? [
      ...(norm ? [rmsNorm(ctx, { dim: k, eps: norm.eps, hidden: input, weight: norm.weight, out: norm.normed })] : []),
      linear(ctx, { input: projectionInput, ...first }), linear(ctx, { input: projectionInput, ...second }),
      ...(third ? [linear(ctx, { input: projectionInput, ...third })] : []),
    ]
    : null;
  return {
    name,
    encode(pass, rows) {
      if (rows === 0) return;
      checkRows(name, rows, maxRows);
      if (rows > 1 && separate) {
        for (const call of separate) call.encode(pass, rows);
        return;
      }
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(gridX, gridY, rows);
    },
  };
}
