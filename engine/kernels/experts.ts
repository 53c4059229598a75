// Routed MoE expert drivers (shaders/linear_experts.wgsl). The router's top-k ids stay on the GPU: each kernel
// reads `expertIds` [T, k] and indexes the stacked expert weights directly.
//   expertsSwiGLU: x [T, H], W [E, 2I, H] (per expert I gate rows then I up rows) -> act [T, k, I]
//   expertsDown:   act [T, k, I], W [E, H, I], weights [T, k] -> output [T, H] += Σ_j w[t,j]·(W[id_j]·act[t,j])
//                  (adds onto the shared expert's output already there; `accumulate: false` overwrites instead)
// Both are matrix-vector kernels per (token, slot) with linear.ts's decode layout (4 rows per 256-thread
// workgroup; weights f32/f16/q8/q4); a prefill step re-reads an expert's rows once per token that picked it.
import source from '../../shaders/linear_experts.wgsl';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import type { GpuWeight } from '../weights/gpu-weight';
import { checkRows, rowsFitting } from './linear';
import type { MatvecShape } from './matvec-shape';
import { checkWeight, weightDefines } from './weight-args';

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
  const rowGroups = checkRowGroups(name, inter, ctx.matvec);
  const pipeline = ctx.pipeline('linear_experts', source, defines(args.weight, experts, inter, hidden, args.topK, ctx.matvec), 'swiglu');
  const group = ctx.bindGroup(pipeline, [ctx.step, args.input, args.weight.buffer, args.expertIds, args.output], name);
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
  const rowGroups = checkRowGroups(name, hidden, ctx.matvec);
  const pipeline = ctx.pipeline('linear_experts', source,
    { ...defines(args.weight, experts, hidden, inter, args.topK, ctx.matvec), ACCUMULATE: args.accumulate ?? true }, 'down');
  const group = ctx.bindGroup(pipeline,
    [ctx.step, args.input, args.weight.buffer, args.expertIds, args.output, args.expertWeights], name);
  return simpleCall(name, pipeline, group, (rows) => {
    checkRows(name, rows, maxRows);
    return [rowGroups, ...slotGrid(rows)];
  });
}

function defines(weight: GpuWeight, experts: number, n: number, k: number, topK: number, matvec: MatvecShape) {
  return { E: experts, N: n, K: k, TOP_K: topK, ...weightDefines(weight), ...matvec };
}

function checkTopK(kernel: string, topK: number, experts: number): void {
  if (!Number.isInteger(topK) || topK < 1 || topK > experts) {
    throw new Error(`${kernel}: topK=${topK} is not an integer in [1, ${experts}]`);
  }
}

function checkRowGroups(kernel: string, outputs: number, matvec: MatvecShape): number {
  const groups = Math.ceil(outputs / matvec.ROWS_PER_WG);
  if (groups > MAX_GRID) throw new Error(`${kernel}: ${outputs} output rows need more than 65535 workgroups`);
  return groups;
}

/** (y, z) covering `slots` as z*65535 + y, matching SLOT_GRID_Y in the shader. */
function slotGrid(slots: number): [number, number] {
  return slots <= MAX_GRID ? [slots, 1] : [MAX_GRID, Math.ceil(slots / MAX_GRID)];
}
