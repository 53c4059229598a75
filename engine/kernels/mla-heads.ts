// MLA attention with the heads sharing each key read (shaders/mla_attention_heads.wgsl), the GPU layout for decode
// and prefill alike: workgroup (head group, row, share) scores a share of the row's keys against HG heads at once
// and writes per-head partial softmax states; the value up-projection (mla-value-up.ts, given headsValueShares)
// merges the shares into ô. The keys of a row are cut into as many shares as keep MIN_SHARE_KEYS keys each, up to
// `splits` (decode: enough to fill the GPU at long contexts; prefill: a few, as its rows already fill it). mla.ts
// keeps the one-head-per-workgroup kernel that CPU adapters run.
import headsSource from '../../shaders/mla_attention_heads.wgsl';
import { f32 } from '../gpu/preprocess';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import { checkAttentionArgs, splitRows, type MlaAttentionArgs, type MlaSplit } from './mla';
import type { MlaValueShares } from './mla-value-up';

/** The per-head kernel's arguments (mla.ts) less ô, with the heads kernel's shares in place of its split. */
export type MlaHeadsArgs = Omit<MlaAttentionArgs, 'split' | 'output'> & { shares: MlaSplit };

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
/** Fewest keys in a share: fewer shares make the merge cheaper, more fill the GPU at short contexts. */
export const MIN_SHARE_KEYS = 32;

/**
 * The shares of ô[t,h] over keys ≤ pos0 + t, or the DSA selection in sparse steps, in `shares.partials` (merge them
 * with mlaValueUp given headsValueShares).
 */
export function mlaAttentionHeads(ctx: GpuContext, args: MlaHeadsArgs): KernelCall {
  const kernel = 'mlaAttentionHeads';
  const { nH, rKV, dR, maxContext, selected, shares } = args;
  checkAttentionArgs(kernel, args);
  const maxRows = splitRows(kernel, nH, rKV, shares);
  const headGroup = Math.min(nH, MAX_HEAD_GROUP);
  const groups = Math.ceil(nH / headGroup);
  const common = {
    WG, NH: nH, RKV: rKV, DR: dR, SPLITS: shares.splits, MIN_KEYS: MIN_SHARE_KEYS,
    SELECTION: !!selected, ...(selected ? { TOPK: selected.topk } : {}),
  };
  const attention = ctx.pipeline('mla_attention_heads', headsSource, {
    ...common, HG: headGroup, KB: KEY_BLOCK, DC: dimChunk(ctx.device, headGroup), SCALE: f32(args.scale), MAX_CONTEXT: maxContext,
  });
  const attentionGroup = ctx.bindGroup(attention, [ctx.step, args.qAbs, args.latentCache, shares.partials,
    ...(selected ? [selected.indices, selected.counts] : [])], 'mla_attention_heads');
  return simpleCall('mla_attention', attention, attentionGroup, (rows) => {
    if (rows > maxRows) throw new Error(`${kernel}: rows=${rows} but its buffers hold ${maxRows} rows`);
    return [groups, rows, shares.splits];
  });
}

/** How mlaValueUp reads the shares mlaAttentionHeads wrote with `shares` (and `selected`, in sparse steps). */
export function headsValueShares(shares: MlaSplit, selected?: MlaHeadsArgs['selected']): MlaValueShares {
  return { split: shares, minShareKeys: MIN_SHARE_KEYS, selected };
}
