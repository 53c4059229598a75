// MLA attention with the heads sharing each key read (shaders/mla_attention_heads.wgsl), the GPU layout for decode
// and prefill alike: workgroup (head group, row, share) scores a share of the row's keys against HG heads at once
// and writes per-head partial softmax states; the combine merges the shares into ô [T, nH, rKV] (a thread per ô
// value where a row has at most FEW_SHARES shares, as in prefill; a workgroup per head, row and 32 dims otherwise).
// The keys of a row are cut into as many shares as keep MIN_SHARE_KEYS keys each, up to `splits` (decode: enough to
// fill the GPU at long contexts; prefill: a few, as its rows already fill it). mla.ts keeps the one-head-per-workgroup
// kernel that CPU adapters run.
import headsSource from '../../shaders/mla_attention_heads.wgsl';
import { f32 } from '../gpu/preprocess';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import { checkAttentionArgs, splitRows, type MlaAttentionArgs, type MlaSplit } from './mla';


/** The per-head kernel's arguments (mla.ts), with the heads kernel's shares in place of its split. */
export type MlaHeadsArgs = Omit<MlaAttentionArgs, 'split'> & { shares: MlaSplit };

const WG = 256;
const KEY_BLOCK = 32; // keys scored per block (KB)
/**
 * Dims staged per pass (DC): 128 where the device takes ~27 KiB of workgroup memory (5 passes over a 576-wide row
 * instead of 9, each a memory latency on a GPU), 64 within WebGPU's default 16 KiB.
 */
function dimChunk(device: GPUDevice, headGroup: number): number {
  const keyGroups = WG / KEY_BLOCK;
  const queryRows = keyGroups * Math.ceil(headGroup / keyGroups); // QS_HEADS
  const bytes = (dc: number) => (KEY_BLOCK * (dc + 1) + queryRows * dc + headGroup * KEY_BLOCK + KEY_BLOCK + 3 * headGroup) * 4;
  return bytes(128) <= device.limits.maxComputeWorkgroupStorageSize ? 128 : 64;
}
const MAX_HEAD_GROUP = 16; // heads sharing a workgroup (HG)
/** Fewest keys in a share: fewer shares make the combine cheaper, more fill the GPU at short contexts. */
export const MIN_SHARE_KEYS = 32;
const COMBINE_WG = 256;
const COMBINE_DIMS = 32; // ô dims per combine workgroup (its 256 threads split each dim's shares 8 ways)
/** At most this many shares a row (prefill), the combine merges them a thread per ô value (FEW_SHARES). */
const FEW_SHARES = 8;
const FEW_SHARES_WG = 128;

/**
 * Shares the step's longest row (its last) cuts its keys into, as share_count in the shader: the attention launches
 * only those (workgroups past a row's shares return at once, but each still costs a launch, ~20 ms apiece on
 * SwiftShader at 256 threads).
 */
function sharesNeeded(ctx: GpuContext, splits: number, topk: number | undefined): number {
  const { rows, pos0, sparse } = ctx.lastStep;
  const keys = sparse && topk !== undefined ? topk : pos0 + rows; // a selection row may list up to topk entries
  return Math.min(splits, Math.max(1, Math.ceil(keys / MIN_SHARE_KEYS)));
}

/** The attention and combine calls: ô[t,h] over keys ≤ pos0 + t, or the DSA selection in sparse steps. */
export function mlaAttentionHeads(ctx: GpuContext, args: MlaHeadsArgs): KernelCall[] {
  const kernel = 'mlaAttentionHeads';
  const { nH, rKV, dR, maxContext, selected, shares } = args;
  checkAttentionArgs(kernel, args);
  const maxRows = Math.min(splitRows(kernel, nH, rKV, shares), Math.floor(args.output.size / (nH * rKV * 4)));
  const headGroup = Math.min(nH, MAX_HEAD_GROUP);
  const groups = Math.ceil(nH / headGroup);
  const common = {
    WG, NH: nH, RKV: rKV, DR: dR, SPLITS: shares.splits, MIN_KEYS: MIN_SHARE_KEYS,
    SELECTION: !!selected, ...(selected ? { TOPK: selected.topk } : {}),
  };
  const attention = ctx.pipeline('mla_attention_heads', headsSource, {
    ...common, HG: headGroup, KB: KEY_BLOCK, DC: dimChunk(ctx.device, headGroup), SCALE: f32(args.scale), MAX_CONTEXT: maxContext,
  });
  const few = shares.splits <= FEW_SHARES;
  const combine = ctx.pipeline('mla_attention_heads', headsSource, few
    ? { ...common, WG: FEW_SHARES_WG, COMBINE: true, FEW_SHARES: true }
    : { ...common, WG: COMBINE_WG, COMBINE_DIMS, COMBINE: true }, 'combine');
  const attentionGroup = ctx.bindGroup(attention, [ctx.step, args.qAbs, args.latentCache, shares.partials,
    ...(selected ? [selected.indices, selected.counts] : [])], 'mla_attention_heads');
  const combineGroup = ctx.bindGroup(combine, [ctx.step, shares.partials, args.output, ...(selected ? [selected.counts] : [])], 'mla_heads_combine');
  const rowsChecked = (rows: number) => {
    if (rows > maxRows) throw new Error(`${kernel}: rows=${rows} but its buffers hold ${maxRows} rows`);
    return rows;
  };
  return [
    simpleCall('mla_attention', attention, attentionGroup, (rows) => [groups, rowsChecked(rows), sharesNeeded(ctx, shares.splits, selected?.topk)]),
    simpleCall('mla_combine', combine, combineGroup, (rows) => few
      ? [Math.ceil(rKV / FEW_SHARES_WG), nH, rowsChecked(rows)]
      : [nH, rowsChecked(rows), Math.ceil(rKV / COMBINE_DIMS)]),
  ];
}
