// Routed MoE experts of a prefill step grouped by expert (GPU layouts, steps of more than one row): the matrix-vector
// kernels (experts.ts) re-read an expert's rows for every (token, slot) pair that picked it; here each expert's
// weight tile is read once per tile of its pairs. Four dispatches, expert ids never leaving the GPU:
//   experts_group        (shaders/experts_group.wgsl bucket) the step's T·k slots sorted by expert, cut into tiles
//                        of up to TILE_T slots of one expert;
//   experts_grouped_swiglu (experts_grouped.wgsl) x [T, H], W [E, 2I, H] -> act [T, k·I], as expertsSwiGLU writes;
//   experts_grouped_down (experts_grouped.wgsl DOWN) act, W [E, H, I] -> slot outputs [T·k, H], unweighted;
//   experts_combine      (experts_group.wgsl COMBINE) output [T, H] (+)= Σ_j w[t, j] · slot output [t·k + j].
// Weights f32 or packed f16/q8/q4 (any K; common/matmul_tile.wgsl dequantises when staging). The grid covers the
// most tiles `rows` can need, ceil(T·k / TILE_T) + min(E, T·k); workgroups past the step's tile count leave at once.
import groupSource from '../../shaders/experts_group.wgsl';
import groupedSource from '../../shaders/experts_grouped.wgsl';
import { createStorage } from '../gpu/buffers';
import type { GpuContext, KernelCall } from '../gpu/context';
import type { GpuWeight } from '../weights/gpu-weight';
import { checkRows, matmulThreadDefines, rowsFitting } from './linear';
import { checkWeight, weightDefines } from './weight-args';

const MAX_GRID = 65535;
const GROUP_WG = 256;
const COMBINE_WG = 256;

/** The grouped path's own buffers, sized for a step of `maxRows` rows (model/scratch.ts). */
export interface ExpertGroupBuffers {
  sortedSlots: GPUBuffer; // [maxRows·k] u32
  tiles: GPUBuffer; // [1 + most tiles] vec4<u32>
  slotOutputs: GPUBuffer; // [maxRows·k, H] f32
}

export interface GroupedExpertsArgs {
  input: GPUBuffer; // [T, H] f32 (the normed residual stream)
  gateUp: GpuWeight; // [E, 2I, H]
  down: GpuWeight; // [E, H, I]
  expertIds: GPUBuffer; // [T, k] u32
  expertWeights: GPUBuffer; // [T, k] f32
  topK: number;
  act: GPUBuffer; // [T, k·I] f32
  output: GPUBuffer; // [T, H] f32
  /** true (default): add the routed experts' sum onto `output` (the residual stream); false: overwrite it. */
  accumulate?: boolean;
  groups: ExpertGroupBuffers;
}

/**
 * Token rows per expert tile: the expected slots per expert at a full step (maxRows·k / E) rounded up to 16, 32 or
 * 64, so a tile is mostly real rows (V2-Lite's 64 experts, 6 of 64 per token: 16; 16 experts: 32).
 */
export function expertTileRows(maxRows: number, topK: number, experts: number): number {
  const perExpert = (maxRows * topK) / experts;
  return perExpert > 32 ? 64 : perExpert > 12 ? 32 : 16;
}

/** The most tiles a step of `rows` rows can need: each expert's slots in ceil(count / tileRows) tiles. */
export function maxExpertTiles(rows: number, topK: number, experts: number, tileRows: number): number {
  const slots = rows * topK;
  return Math.ceil(slots / tileRows) + Math.min(experts, slots);
}

export function createExpertGroupBuffers(device: GPUDevice, maxRows: number, topK: number, experts: number, hidden: number): ExpertGroupBuffers {
  const slots = maxRows * topK;
  return {
    sortedSlots: createStorage(device, slots * 4, 'expert_sorted_slots'),
    tiles: createStorage(device, (1 + maxExpertTiles(maxRows, topK, experts, 16)) * 16, 'expert_tiles'),
    slotOutputs: createStorage(device, slots * hidden * 4, 'expert_slot_outputs'),
  };
}

/** The four calls of the grouped routed experts (see the top of this file), in order. */
export function groupedExperts(ctx: GpuContext, args: GroupedExpertsArgs): KernelCall[] {
  const name = 'experts_grouped';
  const [experts, gateUpRows, hidden] = checkWeight(`${name} gate_up`, args.gateUp, 3);
  const [downExperts, downRows, inter] = checkWeight(`${name} down`, args.down, 3);
  if (gateUpRows !== 2 * inter || downExperts !== experts || downRows !== hidden) {
    throw new Error(`${name}: gate_up [${args.gateUp.shape}] and down [${args.down.shape}] are not [E, 2I, H] and [E, H, I]`);
  }
  const { topK } = args;
  if (!Number.isInteger(topK) || topK < 1 || topK > experts) throw new Error(`${name}: topK=${topK} is not an integer in [1, ${experts}]`);
  const maxRows = Math.min(
    rowsFitting(name, 'input', args.input, hidden),
    rowsFitting(name, 'expertIds', args.expertIds, topK),
    rowsFitting(name, 'expertWeights', args.expertWeights, topK),
    rowsFitting(name, 'act', args.act, topK * inter),
    rowsFitting(name, 'output', args.output, hidden),
    rowsFitting(name, 'sortedSlots', args.groups.sortedSlots, topK),
    rowsFitting(name, 'slotOutputs', args.groups.slotOutputs, topK * hidden),
  );
  const tileRows = expertTileRows(maxRows, topK, experts);
  const tilesHeld = args.groups.tiles.size / 16 - 1;
  if (maxExpertTiles(maxRows, topK, experts, tileRows) > tilesHeld) {
    throw new Error(`${name}: tiles buffer holds ${tilesHeld} tiles, a step of ${maxRows} rows may need ${maxExpertTiles(maxRows, topK, experts, tileRows)}`);
  }
  const tiles = (rows: number) => {
    checkRows(name, rows, maxRows);
    const count = maxExpertTiles(rows, topK, experts, tileRows);
    if (count > MAX_GRID) throw new Error(`${name}: ${count} expert tiles exceed 65535 workgroups`);
    return count;
  };
  const { sortedSlots, slotOutputs } = args.groups;
  const shape = { E: experts, TOP_K: topK, TILE_T: tileRows, ACT_STRIDE: topK * inter, ...matmulThreadDefines(ctx) };

  const bucket = ctx.pipeline('experts_group', groupSource, { E: experts, TOP_K: topK, TILE_T: tileRows, WG: GROUP_WG });
  const gateUp = ctx.pipeline('experts_grouped', groupedSource, { ...shape, N: inter, K: hidden, ...weightDefines(args.gateUp) });
  const down = ctx.pipeline('experts_grouped', groupedSource, { ...shape, N: hidden, K: inter, ...weightDefines(args.down), DOWN: true });
  const combine = ctx.pipeline('experts_group', groupSource, {
    TOP_K: topK, N: hidden, WG: COMBINE_WG, COMBINE: true, ACCUMULATE: args.accumulate ?? true,
  });
  return [
    call('experts_group', bucket, ctx.bindGroup(bucket, [ctx.step, args.expertIds, sortedSlots, args.groups.tiles], 'experts_group'),
      (rows) => (tiles(rows), [1, 1])),
    call('experts_grouped_swiglu', gateUp,
      ctx.bindGroup(gateUp, [args.input, args.gateUp.buffer, sortedSlots, args.groups.tiles, args.act], 'experts_grouped_swiglu'),
      (rows) => [Math.ceil(inter / 64), tiles(rows)]),
    call('experts_grouped_down', down,
      ctx.bindGroup(down, [args.act, args.down.buffer, sortedSlots, args.groups.tiles, slotOutputs], 'experts_grouped_down'),
      (rows) => [Math.ceil(hidden / 128), tiles(rows)]),
    call('experts_combine', combine,
      ctx.bindGroup(combine, [ctx.step, slotOutputs, args.expertWeights, args.output], 'experts_combine'),
      (rows) => (checkRows(name, rows, maxRows), [Math.ceil(hidden / COMBINE_WG), rows])),
  ];
}

function call(name: string, pipeline: GPUComputePipeline, group: GPUBindGroup, grid: (rows: number) => [number, number]): KernelCall {
  return {
    name,
    encode(pass, rows) {
      if (rows === 0) return;
      const [x, y] = grid(rows);
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(x, y);
    },
  };
}
