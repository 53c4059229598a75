// MLA attention with the heads sharing each key read, the GPU layout for decode and prefill alike
// (shaders/mla_attention_heads.wgsl): workgroup (head group, row, share) scores a share of the row's keys against HG
// heads at once and writes per-head partial softmax states; the combine (shaders/mla_heads_combine.wgsl) merges the
// shares into ô [T, nH, rKV] (a thread per ô value where a row has at most FEW_SHARES shares, as in prefill; a
// workgroup per head, row and 32 dims otherwise). The keys of a row are cut into as many shares as keep
// MIN_SHARE_KEYS keys each, up to `splits` (decode: enough to fill the GPU at long contexts; prefill: a few, as its
// rows already fill it). Scores are register tiles of 4 heads x 4 keys over dim slices; headsPlan fits the staging
// to the device's workgroup memory. mla.ts keeps the one-head-per-workgroup kernel that CPU adapters run. The model's
// decode rows merge their shares inside the value up-projection instead of the combine (mla-combine-value-up.ts).
import headsSource from '../../shaders/mla_attention_heads.wgsl';
import combineSource from '../../shaders/mla_heads_combine.wgsl';
import { f32 } from '../gpu/preprocess';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import { checkAttentionArgs, splitRows, type MlaAttentionArgs, type MlaSplit } from './mla';


/**
 * The per-head kernel's arguments (mla.ts), with the heads kernel's shares in place of its split; workgroupBytes
 * bounds the workgroup memory it plans for (the device's limit by default).
 */
export type MlaHeadsArgs = Omit<MlaAttentionArgs, 'split'> & {
  shares: MlaSplit;
  workgroupBytes?: number;
  /** false: the attention call alone (a caller that merges the shares itself, mla-combine-value-up.ts). */
  combine?: boolean;
};

const WG = 256;
const KEY_BLOCK = 32; // keys scored per block (KB)
const MAX_HEAD_GROUP = 16; // heads sharing a workgroup (HG)
const SCORE_SLICES = 8; // dim slices of the score tiles (SLICES in the shader)
/** Dims staged per pass (DC): multiples of 4 · SCORE_SLICES; 192 would hold 36 registers a thread for the next pass. */
const DIM_CHUNKS = [64, 96, 128];
/** Cost of one staged pass in dims' worth of arithmetic: its two barriers and the loads it waits on. */
const PASS_COST = 32;

/** How a workgroup lays out its work: heads padded to whole score tiles, dims per pass, slices summed per round. */
export interface HeadsPlan { headsPadded: number; dimChunk: number; fan: number; bytes: number }

/**
 * The plan for a head group within `workgroupBytes` of workgroup memory: HP = HG rounded up to 4, 8 or 16 (1, 2 or
 * 4 head lanes of 4-head tiles); the dim chunk DC whose passes over a `width`-wide row cost least (padded dims
 * plus PASS_COST a pass; WebGPU's default 16 KiB takes 64 for 16 heads, 32 KiB 96); the reduction's fan-in FAN, as
 * many slices a round as the staging region holds slots for (8: one round).
 */
export function headsPlan(headGroup: number, width: number, workgroupBytes: number): HeadsPlan {
  const headsPadded = 4 * 2 ** Math.ceil(Math.log2(Math.ceil(headGroup / 4)));
  const plans = DIM_CHUNKS.map((dimChunk) => {
    const stageRows = (KEY_BLOCK + headsPadded) * (dimChunk / 4 + 1); // vec4s
    const slot = KEY_BLOCK * headsPadded / 4;
    const fan = [8, 4, 2].find((f) => (SCORE_SLICES - SCORE_SLICES / f) * slot <= stageRows) ?? 2;
    const stage = Math.max(stageRows, (SCORE_SLICES - SCORE_SLICES / fan) * slot);
    // stage, prob, keyPos (3 blocks), headM (2 blocks), headAlpha
    const bytes = 16 * stage + 4 * KEY_BLOCK * headsPadded + 12 * KEY_BLOCK + 8 * headsPadded + 4 * headsPadded;
    return { headsPadded, dimChunk, fan, bytes };
  }).filter((plan) => plan.bytes <= workgroupBytes);
  if (!plans.length) throw new Error(`mlaAttentionHeads: ${headGroup} heads need more than ${workgroupBytes} bytes of workgroup memory`);
  const cost = (plan: HeadsPlan) => Math.ceil(width / plan.dimChunk) * (plan.dimChunk + PASS_COST);
  return plans.reduce((a, b) => (cost(b) < cost(a) ? b : a));
}

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

/**
 * The attention and combine calls (the attention alone with `combine: false`): ô[t,h] over keys ≤ pos0 + t, or the
 * DSA selection in sparse steps.
 */
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
  const plan = headsPlan(headGroup, rKV + dR, args.workgroupBytes ?? ctx.device.limits.maxComputeWorkgroupStorageSize);
  const attention = ctx.pipeline('mla_attention_heads', headsSource, {
    ...common, HG: headGroup, HP: plan.headsPadded, KB: KEY_BLOCK, DC: plan.dimChunk, FAN: plan.fan, SCALE: f32(args.scale),
    MAX_CONTEXT: maxContext,
  });
  const attentionGroup = ctx.bindGroup(attention, [ctx.step, args.qAbs, args.latentCache, shares.partials,
    ...(selected ? [selected.indices, selected.counts] : [])], 'mla_attention_heads');
  const rowsChecked = (rows: number) => {
    if (rows > maxRows) throw new Error(`${kernel}: rows=${rows} but its buffers hold ${maxRows} rows`);
    return rows;
  };
  const attentionCall = simpleCall('mla_attention', attention, attentionGroup,
    (rows) => [groups, rowsChecked(rows), sharesNeeded(ctx, shares.splits, selected?.topk)]);
  if (args.combine === false) return [attentionCall];
  const few = shares.splits <= FEW_SHARES;
  const combine = ctx.pipeline('mla_heads_combine', combineSource, few
    ? { ...common, WG: FEW_SHARES_WG, COMBINE: true, FEW_SHARES: true }
    : { ...common, WG: COMBINE_WG, COMBINE_DIMS, COMBINE: true }, 'combine');
  const combineGroup = ctx.bindGroup(combine, [ctx.step, shares.partials, args.output, ...(selected ? [selected.counts] : [])], 'mla_heads_combine');
  return [
    attentionCall,
    simpleCall('mla_combine', combine, combineGroup, (rows) => few
      ? [Math.ceil(rKV / FEW_SHARES_WG), nH, rowsChecked(rows)]
      : [nH, rowsChecked(rows), Math.ceil(rKV / COMBINE_DIMS)]),
  ];
}
