// MLA attention for dense steps of several rows (shaders/mla_attention_rows.wgsl): each workgroup takes 64 query
// slots (64 / HG rows x HG heads) and one share of their keys, so a staged key block serves 64 queries instead of
// one row's HG heads (mla-heads.ts, whose shares [T, nH, splits, rKV + 2] it writes for the same combine). For
// models with a DSA selection the workgroups exit in sparse steps, which the heads kernel runs row by row.
import rowsSource from '../../shaders/mla_attention_rows.wgsl';
import { f32 } from '../gpu/preprocess';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import type { MlaSplit } from './mla';

const WG = 256;
/** Query slots a workgroup scores together (the shader's thread tile: 16 slot groups of 4 x 16 key groups). */
export const QUERY_SLOTS = 64;
const DIM_CHUNK = 32; // dims staged per pass (DC)
/** Keys per block (KB), largest first: 64 where the device takes ~20 KiB of workgroup memory, else 32 (16 KiB). */
const KEY_BLOCKS = [64, 32] as const;

/** Workgroup memory of the rows kernel with `keyBlock` keys a block: staged chunks (padded rows) and slot state. */
export function rowsWorkgroupBytes(keyBlock: number): number {
  const rowVec4s = DIM_CHUNK / 4 + 1;
  const slotGroups = QUERY_SLOTS / 4;
  return ((QUERY_SLOTS + keyBlock) * rowVec4s + 5 * slotGroups + QUERY_SLOTS) * 16;
}

/** The largest key block whose workgroup memory the device allows. */
export function rowsKeyBlock(device: GPUDevice): number {
  const keyBlock = KEY_BLOCKS.find((kb) => rowsWorkgroupBytes(kb) <= device.limits.maxComputeWorkgroupStorageSize);
  if (keyBlock === undefined) throw new Error(`mlaAttentionRows: needs ${rowsWorkgroupBytes(32)} bytes of workgroup memory`);
  return keyBlock;
}

export interface MlaRowsArgs {
  qAbs: GPUBuffer; // [T, nH, rKV + dR]
  latentCache: GPUBuffer; // [maxContext, rKV + dR]
  nH: number;
  rKV: number;
  dR: number;
  scale: number;
  maxContext: number;
  headGroup: number; // HG heads per workgroup (≤ QUERY_SLOTS)
  shares: MlaSplit; // partials [T, nH, splits, rKV + 2]
  minKeys: number; // fewest keys in a share (the heads kernel's MIN_SHARE_KEYS)
  /** The model has a DSA selection: sparse steps are left to the heads kernel. */
  skipSparse: boolean;
  /** Checks a step's rows against the buffers (throws) and returns them. */
  rowsChecked: (rows: number) => number;
}

/** The attention dispatch of a dense step of several rows: share z of ô's partial states for each (row, head). */
export function mlaAttentionRows(ctx: GpuContext, args: MlaRowsArgs): KernelCall {
  const { nH, rKV, dR, headGroup, shares } = args;
  const keyBlock = rowsKeyBlock(ctx.device);
  if (headGroup < 1 || headGroup > QUERY_SLOTS) throw new Error(`mlaAttentionRows: headGroup ${headGroup} outside 1..${QUERY_SLOTS}`);
  const rowsPerGroup = Math.floor(QUERY_SLOTS / headGroup);
  const pipeline = ctx.pipeline('mla_attention_rows', rowsSource, {
    WG, NH: nH, RKV: rKV, DR: dR, SPLITS: shares.splits, MIN_KEYS: args.minKeys, HG: headGroup, KB: keyBlock, DC: DIM_CHUNK,
    SCALE: f32(args.scale), MAX_CONTEXT: args.maxContext, SKIP_SPARSE: args.skipSparse,
  });
  const group = ctx.bindGroup(pipeline, [ctx.step, args.qAbs, args.latentCache, shares.partials], 'mla_attention_rows');
  const headGroups = Math.ceil(nH / headGroup);
  return simpleCall('mla_attention', pipeline, group, (rows) => [headGroups, Math.ceil(args.rowsChecked(rows) / rowsPerGroup), shares.splits]);
}
