// Routed MoE expert drivers (shaders/experts_packed.wgsl, linear_experts.wgsl). The router's top-k ids stay on the
// GPU: each kernel reads `expertIds` [T, k] and indexes the stacked expert weights directly.
//   expertsSwiGLU: x [T, H], W [E, 2I, H] (per expert I gate rows then I up rows) -> act [T, k, I]
//   expertsDown:   act [T, k, I], W [E, H, I], weights [T, k] -> output [T, H] += Σ_j w[t,j]·(W[id_j]·act[t,j])
//                  (adds onto what `output` holds: the residual stream, or the shared expert's output there;
//                  `accumulate: false` overwrites instead)
// Both are matrix-vector kernels per (token, slot): f16/q8/q4 rows whose K is a multiple of a 16-byte chunk take
// the packed-chunk kernels (experts_packed.wgsl, ctx.packedMatvec layout), anything else linear_experts.wgsl with
// linear.ts's element-pair layout; a prefill step re-reads an expert's rows once per token that picked it (so GPU
// prefill runs the grouped kernels of experts-grouped.ts instead; these serve decode and CPU adapters).
// `shared` (packed path only, sharedExpertsFuse): the shared experts' SwiGLU MLP [2S, H] / [H, S] runs inside the
// same two dispatches; act rows are then [k·I + S] (the shared activations after the routed ones) and expertsDown
// writes shared + routed (overwriting by default; with `accumulate: true` added onto the residual stream). Saves
// the shared MLP's two dispatches per MoE layer.
import source from '../../shaders/linear_experts.wgsl';
import packedSource from '../../shaders/experts_packed.wgsl';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import type { Defines } from '../gpu/preprocess';
import type { GpuWeight } from '../weights/gpu-weight';
import { checkRows, rowsFitting } from './linear';
import { packedReduceDefines, packedRowsPerWorkgroup } from './matvec-shape';
import { checkWeight, packedChunkFits, weightDefines } from './weight-args';

const MAX_GRID = 65535;

export interface ExpertsSwiGLUArgs {
  input: GPUBuffer; // [T, H] f32
  weight: GpuWeight; // [E, 2I, H]
  expertIds: GPUBuffer; // [T, k] u32
  topK: number;
  output: GPUBuffer; // [T, k·I (+ S with shared)] f32
  /** The shared experts' gate + up [2S, H]; only where sharedExpertsFuse holds. */
  shared?: GpuWeight;
}

export interface ExpertsDownArgs {
  input: GPUBuffer; // [T, k·I (+ S with shared)] f32
  weight: GpuWeight; // [E, H, I]
  expertIds: GPUBuffer; // [T, k] u32
  expertWeights: GPUBuffer; // [T, k] f32
  topK: number;
  output: GPUBuffer; // [T, H] f32, accumulated into
  /** false: overwrite `output`; true: add onto it. Default: true, but false with `shared`. */
  accumulate?: boolean;
  /** The shared experts' down projection [H, S]; only where sharedExpertsFuse holds. */
  shared?: GpuWeight;
}

/** Whether the shared experts' weights can ride in the routed experts' packed dispatches on `ctx`. */
export function sharedExpertsFuse(ctx: GpuContext, routed: GpuWeight, shared: GpuWeight): boolean {
  return ctx.packedMatvec !== null && packedChunkFits(routed) && packedChunkFits(shared)
    && routed.dtype === shared.dtype && routed.group === shared.group;
}

export function expertsSwiGLU(ctx: GpuContext, args: ExpertsSwiGLUArgs): KernelCall {
  const name = 'experts_swiglu';
  const [experts, gateUpRows, hidden] = checkWeight(name, args.weight, 3);
  if (gateUpRows % 2 !== 0) throw new Error(`${name}: weight has ${gateUpRows} rows per expert; gate + up needs an even count`);
  const inter = gateUpRows / 2;
  checkTopK(name, args.topK, experts);
  const sharedInter = args.shared ? checkShared(ctx, name, args.weight, args.shared, [2, hidden]) / 2 : 0;
  const actStride = args.topK * inter + sharedInter;
  const maxRows = Math.min(
    rowsFitting(name, 'input', args.input, hidden),
    rowsFitting(name, 'expertIds', args.expertIds, args.topK),
    rowsFitting(name, 'output', args.output, actStride),
  );
  const slotsPerToken = args.topK + (args.shared ? 1 : 0);
  const { pipeline, rowGroups, extra } = expertsPipeline(ctx, name, args.weight, args.shared,
    { E: experts, N: inter, K: hidden, TOP_K: args.topK, ACT_STRIDE: actStride, SLOTS_PER_TOKEN: slotsPerToken, S_N: sharedInter }, 'swiglu');
  const group = ctx.bindGroup(pipeline, [ctx.step, args.input, args.weight.buffer, args.expertIds, args.output, ...extra], name);
  return simpleCall(name, pipeline, group, (rows) => {
    checkRows(name, rows, maxRows);
    return [rowGroups, ...slotGrid(rows * slotsPerToken)];
  });
}

export function expertsDown(ctx: GpuContext, args: ExpertsDownArgs): KernelCall {
  const name = 'experts_down';
  const [experts, hidden, inter] = checkWeight(name, args.weight, 3);
  checkTopK(name, args.topK, experts);
  const sharedInter = args.shared ? checkShared(ctx, name, args.weight, args.shared, [1, 0]) : 0;
  const actStride = args.topK * inter + sharedInter;
  const maxRows = Math.min(
    rowsFitting(name, 'input', args.input, actStride),
    rowsFitting(name, 'expertIds', args.expertIds, args.topK),
    rowsFitting(name, 'expertWeights', args.expertWeights, args.topK),
    rowsFitting(name, 'output', args.output, hidden),
  );
  const { pipeline, rowGroups, extra } = expertsPipeline(ctx, name, args.weight, args.shared, {
    E: experts, N: hidden, K: inter, TOP_K: args.topK, ACT_STRIDE: actStride, S_K: sharedInter,
    ACCUMULATE: args.accumulate ?? !args.shared,
  }, 'down');
  const group = ctx.bindGroup(pipeline,
    [ctx.step, args.input, args.weight.buffer, args.expertIds, args.output, args.expertWeights, ...extra], name);
  return simpleCall(name, pipeline, group, (rows) => {
    checkRows(name, rows, maxRows);
    return [rowGroups, ...slotGrid(rows)];
  });
}

/**
 * Checks a shared-experts weight against the routed one: fusable, 2D, and (gate_up) [2S, H] with the routed H, or
 * (down) [H, S] with the routed H as its rows. `dims` = [rows multiple, required K or 0]. Returns its rows (gate_up)
 * or K (down).
 */
function checkShared(ctx: GpuContext, kernel: string, routed: GpuWeight, shared: GpuWeight, [rowMultiple, k]: [number, number]): number {
  const [rows, cols] = checkWeight(`${kernel} shared`, shared, 2);
  if (!sharedExpertsFuse(ctx, routed, shared)) {
    throw new Error(`${kernel}: shared experts (${shared.dtype}) cannot fuse with routed experts (${routed.dtype}) here; run them as their own SwiGLU`);
  }
  if (k > 0) {
    if (cols !== k || rows % rowMultiple !== 0) throw new Error(`${kernel}: shared gate_up [${rows}, ${cols}] is not [2S, ${k}]`);
    return rows;
  }
  if (rows !== routed.shape[1]) throw new Error(`${kernel}: shared down [${rows}, ${cols}] does not have the routed ${routed.shape[1]} rows`);
  return cols;
}

/**
 * The packed-chunk pipeline when the weight fits it (plus its scales' second binding for q8/q4 and, with
 * `shared`, the shared weight's bindings), else the element-pair one; and the row groups (workgroup_id.x).
 */
function expertsPipeline(ctx: GpuContext, kernel: string, weight: GpuWeight, shared: GpuWeight | undefined,
  shape: Defines & { N: number }, entry: 'swiglu' | 'down'): { pipeline: GPUComputePipeline; rowGroups: number; extra: GPUBuffer[] } {
  const down = entry === 'down';
  const layout = ctx.packedShapeFor(down ? 'experts_down' : 'experts_swiglu');
  if (layout && packedChunkFits(weight)) {
    const quantised = weight.dtype !== 'f16';
    const scalesBinding = down ? 6 : 5;
    const sharedBinding = scalesBinding + (quantised ? 1 : 0);
    const sharedDefines: Defines = shared
      ? { SHARED: true, S_ROW_STRIDE: shared.rowStride, S_SCALE_OFFSET: shared.scaleOffset, S_SCALE_ROW_STRIDE: shared.scaleRowStride }
      : {};
    const pipeline = ctx.pipeline('experts_packed', packedSource, {
      ...shape, ...weightDefines(weight), ...layout, ...sharedDefines, DOWN: down, SUMS: down ? 1 : 2,
      ...packedReduceDefines(layout, weight.dtype), SCALES_BINDING: scalesBinding, SHARED_BINDING: sharedBinding, SHARED_SCALES_BINDING: sharedBinding + 1,
    });
    const scales = quantised ? [weight.buffer] : [];
    const sharedBuffers = shared ? [shared.buffer, ...(quantised ? [shared.buffer] : [])] : [];
    const widest = Math.max(shape.N, down ? 0 : Number(shape.S_N ?? 0));
    return { pipeline, rowGroups: checkRowGroups(kernel, widest, packedRowsPerWorkgroup(layout)), extra: [...scales, ...sharedBuffers] };
  }
  const pipeline = ctx.pipeline('linear_experts', source, { ...shape, ...weightDefines(weight), ...ctx.matvec }, entry);
  return { pipeline, rowGroups: checkRowGroups(kernel, shape.N, ctx.matvec.ROWS_PER_WG), extra: [] };
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
