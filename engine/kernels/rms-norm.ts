// RMSNorm kernel driver (shaders/rms_norm.wgsl): out = weight ⊙ x / rms(x), per row of `dim`; `lastRow` does only
// the step's last row (the final norm when only the last row's logits are wanted).
import source from '../../shaders/rms_norm.wgsl';
import { f32 } from '../gpu/preprocess';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';

export interface RmsNormArgs {
  dim: number;
  eps: number;
  /** [T, rowStride] rows to normalise (e.g. the residual stream); rowStride defaults to dim. */
  hidden: GPUBuffer;
  rowStride?: number;
  weight: GPUBuffer; // [dim] f32
  out: GPUBuffer; // [T, dim]
  /** Only the step's last row (t = rows - 1), in one workgroup; the other rows are left as they are. */
  lastRow?: boolean;
}

// Threads per row: 256 on GPUs (a 2,048-wide row is 8 loads a thread; 64 threads made each norm ~25 µs of
// dependent loads on an H100), 64 on CPU adapters.
const WG = { gpu: 256, cpu: 64 } as const;

export function rmsNorm(ctx: GpuContext, args: RmsNormArgs): KernelCall {
  const rowStride = args.rowStride ?? args.dim;
  const pipeline = ctx.pipeline('rms_norm', source, {
    WG: WG[ctx.layout], DIM: args.dim, ROW_STRIDE: rowStride, EPS: f32(args.eps), LAST_ROW: !!args.lastRow,
  });
  const bindings = [ctx.step, args.hidden, args.weight, args.out];
  return simpleCall('rms_norm', pipeline, ctx.bindGroup(pipeline, bindings, 'rms_norm'), (rows) => [args.lastRow ? Math.min(rows, 1) : rows]);
}
