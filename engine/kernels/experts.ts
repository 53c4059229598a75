// Routed MoE expert drivers (shaders/linear_experts.wgsl). The router's top-k ids stay on the GPU: each kernel
// reads `expertIds` [T, k] and indexes the stacked expert weights directly.
//   expertsSwiGLU: x [T, H], W [E, 2I, H] (per expert I gate rows then I up rows) -> act [T, k, I]
//   expertsDown:   act [T, k, I], W [E, H, I], weights [T, k] -> output [T, H] += Σ_j w[t,j]·(W[id_j]·act[t,j])
//                  (adds onto the shared expert's output already there; `accumulate: false` overwrites instead)
// Both are matrix-vector kernels per (token, slot): f16/q8/q4 rows whose K is a multiple of a 16-byte chunk take
// the packed-chunk kernels (experts_packed.wgsl, ctx.packedMatvec layout), anything else linear_experts.wgsl with
// linear.ts's element-pair layout; a prefill step re-reads an expert's rows once per token that picked it.
import source from '../../shaders/linear_experts.wgsl';
import packedSource from '../../shaders/experts_packed.wgsl';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import type { Defines } from '../gpu/preprocess';
import type { GpuWeight } from '../weights/gpu-weight';
import { checkRows, rowsFitting } from './linear';
import { packedRowsPerWorkgroup } from './matvec-shape';
import { checkWeight, packedChunkFits, weightDefines } from './weight-args';

const MAX_GRID = 65535;

export interface ExpertsSwiGLUArgs {
  input: GPUBuffer; // [T, H] f32
  weight: GpuWeight; // [E, 2I, H]
  expertIds: GPUBuffer; // [T, k] u32
  topK: number;
  output: GPUBuffer; // [T, k, I] f32
}

export interface ExpertsDownArgs {
  input: GPUBuffer; // [T, k, I] f32
  weight: GpuWeight; // [E, H, I]
  expertIds: GPUBuffer; // [T, k] u32
  expertWeights: GPUBuffer; // [T, k] f32
  topK: number;
  output: GPUBuffer; // [T, H] f32, accumulated into
  /** false: overwrite `output` (a MoE layer without shared experts). Default true. */
  accumulate?: boolean;
}

export function expertsSwiGLU(ctx: GpuContext, args: ExpertsSwiGLUArgs): KernelCall {
  const name = 'experts_swiglu';
  const [experts, gateUpRows, hidden] = checkWeight(name, args.weight, 3);
  if (gateUpRows % 2 !== 0) throw new Error(`${name}: weight has ${gateUpRows} rows per expert; gate + up needs an even count`);
  const inter = gateUpRows / 2;
  checkTopK(name, args.topK, experts);
  const maxRows = Math.min(
    rowsFitting(name, 'input', args.input, hidden),
    rowsFitting(name, 'expertIds', args.expertIds, args.topK),
    rowsFitting(name, 'output', args.output, args.topK * inter),
  );
  const { pipeline, rowGroups, scales } = expertsPipeline(ctx, name, args.weight, { E: experts, N: inter, K: hidden, TOP_K: args.topK }, 'swiglu');
  const group = ctx.bindGroup(pipeline, [ctx.step, args.input, args.weight.buffer, args.expertIds, args.output, ...scales], name);
  return simpleCall(name, pipeline, group, (rows) => {
    checkRows(name, rows, maxRows);
    return [rowGroups, ...slotGrid(rows * args.topK)];
  });
}

export function expertsDown(ctx: GpuContext, args: ExpertsDownArgs): KernelCall {
  const name = 'experts_down';
  const [experts, hidden, inter] = checkWeight(name, args.weight, 3);
  checkTopK(name, args.topK, experts);
  const maxRows = Math.min(
    rowsFitting(name, 'input', args.input, args.topK * inter),
    rowsFitting(name, 'expertIds', args.expertIds, args.topK),
    rowsFitting(name, 'expertWeights', args.expertWeights, args.topK),
    rowsFitting(name, 'output', args.output, hidden),
  );
  const { pipeline, rowGroups, scales } = expertsPipeline(ctx, name, args.weight,
    { E: experts, N: hidden, K: inter, TOP_K: args.topK, ACCUMULATE: args.accumulate ?? true }, 'down');
  const group = ctx.bindGroup(pipeline,
    [ctx.step, args.input, args.weight.buffer, args.expertIds, args.output, args.expertWeights, ...scales], name);
  return simpleCall(name, pipeline, group, (rows) => {
    checkRows(name, rows, maxRows);
    return [rowGroups, ...slotGrid(rows)];
  });
}

/**
 * The packed-chunk pipeline when the weight fits it (plus the scales' second binding for q8/q4), else the
 * element-pair one; and the row groups (workgroup_id.x) covering N.
 */
function expertsPipeline(ctx: GpuContext, kernel: string, weight: GpuWeight, shape: Defines & { N: number },
  entry: 'swiglu' | 'down'): { pipeline: GPUComputePipeline; rowGroups: number; scales: GPUBuffer[] } {
  const down = entry === 'down';
  const layout = ctx.packedMatvec;
  if (layout && packedChunkFits(weight)) {
    const pipeline = ctx.pipeline('experts_packed', packedSource, {
      ...shape, ...weightDefines(weight), ...layout, DOWN: down, SUMS: down ? 1 : 2, SHARED_REDUCE: layout.LANES > 1,
    });
    const scales = weight.dtype === 'f16' ? [] : [weight.buffer];
    return { pipeline, rowGroups: checkRowGroups(kernel, shape.N, packedRowsPerWorkgroup(layout)), scales };
  }
  const pipeline = ctx.pipeline('linear_experts', source, { ...shape, ...weightDefines(weight), ...ctx.matvec }, entry);
  return { pipeline, rowGroups: checkRowGroups(kernel, shape.N, ctx.matvec.ROWS_PER_WG), scales: [] };
}

function checkTopK(kernel: string, topK: number, experts: number): void {
  if (!Number.isInteger(topK) || topK < 1 || topK > experts) {
    throw new Error(`${kernel}: topK=${topK} is not an integer in [1, ${experts}]`);
  }
}

function checkRowGroups(kernel: string, outputs: number, rowsPerGroup: number): number {
  const groups = Math.ceil(outputs / rowsPerGroup);
  if (groups > MAX_GRID) throw new Error(`${kernel}: ${outputs} output rows need more than 65535 workgroups`);
  return groups;
}

/** (y, z) covering `slots` as z*65535 + y, matching SLOT_GRID_Y in the shader. */
function slotGrid(slots: number): [number, number] {
  return slots <= MAX_GRID ? [slots, 1] : [MAX_GRID, Math.ceil(slots / MAX_GRID)];
}
