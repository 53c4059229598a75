// The heads-sharing attention's combine fused into the value up-projection (shaders/mla_combine_value_up.wgsl), the
// GPU layout's decode path: out[t, h·dV + i] = Σ_j W_UV_h[i, j] · ô[t,h,j], with ô[t,h] merged from the key shares
// [T, nH, splits, rKV + 2] (mla-heads.ts) inside each workgroup instead of by a dispatch of its own. Workgroup (block
// of ROWS rows of W_UV_h, head, row): a v2-lite decode row (16 heads, dV 128) is 64 workgroups, each merging its
// head's shares again (at 128 shares ~260 KB of L2 reads, ~16 MB a layer). Prefill chunks keep the separate combine
// and the tiled product (their shares are few but their rows many: the merge would repeat per 32 W_UV rows of
// every token). rKV must be even (the shares are read as f32 pairs); kv_b_proj f32 or f16, as mla.ts checks.
import source from '../../shaders/mla_combine_value_up.wgsl';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import type { GpuWeight } from '../weights/gpu-weight';
import { requireCount, requireKvB, splitRows, type MlaSelection, type MlaSplit } from './mla';
import { MIN_SHARE_KEYS } from './mla-heads';

export interface MlaCombineValueUpArgs {
  nH: number;
  dN: number;
  dV: number;
  rKV: number;
  /** The shares the heads attention wrote [T, nH, splits, rKV + 2]; how many a row has follows from the step. */
  shares: MlaSplit;
  /** DSA top-k keys (only `counts` is read, in sparse steps: a row's share count follows from its entries). */
  selected?: MlaSelection;
  kvB: GpuWeight; // kv_b_proj [nH·(dN+dV), rKV]
  output: GPUBuffer; // [T, nH·dV]
}

const WG = 256;
/**
 * W_UV rows a workgroup covers (LANES = WG / ROWS = 8 threads a row, each holding rKV / 16 weight pairs): 32 makes
 * 64 workgroups for a v2-lite decode row, about the L2 traffic the repeated merges can take at the rate of
 * 64 SMs; 16 would double the merges, 64 halve the SMs at work.
 */
const ROWS = 32;
const WORKGROUP_BYTES = 16384;

/** out[t, h·dV + i] = Σ_j W_UV_h[i, j] · ô[t,h,j], ô[t,h] merged from its key shares in the same dispatch. */
export function mlaCombineValueUp(ctx: GpuContext, args: MlaCombineValueUpArgs): KernelCall {
  const kernel = 'mlaCombineValueUp';
  const { nH, dN, dV, rKV, kvB, shares, selected } = args;
  for (const [name, value] of Object.entries({ nH, dN, dV, rKV })) requireCount(kernel, name, value);
  if (rKV % 2 !== 0) throw new Error(`${kernel}: rKV must be even (the shares are read as f32 pairs), got ${rKV}`);
  requireKvB(kernel, kvB, nH, dN, dV, rKV);
  if (selected) requireCount(kernel, 'selected.topk', selected.topk);
  const maxRows = Math.min(splitRows(kernel, nH, rKV, shares), Math.floor(args.output.size / (nH * dV * 4)));
  const pairs = rKV / 2;
  const pairBlock = Math.min(WG, 2 ** Math.ceil(Math.log2(pairs)));
  // shareWeight and shareSum, laneSum (pairs), latent (pairs), workgroup_sum's scratch
  const bytes = 8 * shares.splits + 8 * WG + 8 * pairs + 4 * WG;
  if (bytes > WORKGROUP_BYTES) throw new Error(`${kernel}: ${shares.splits} shares of rKV ${rKV} need ${bytes} bytes of workgroup memory`);
  const pipeline = ctx.pipeline('mla_combine_value_up', source, {
    WG, ROWS, SHARE_LANES: WG / pairBlock, NH: nH, DN: dN, DV: dV, RKV: rKV, ROW_STRIDE: kvB.rowStride,
    WEIGHT_F16: kvB.dtype === 'f16', SPLITS: shares.splits, MIN_KEYS: MIN_SHARE_KEYS, COMBINE: true,
    SELECTION: !!selected, ...(selected ? { TOPK: selected.topk } : {}),
  });
  const group = ctx.bindGroup(pipeline, [ctx.step, shares.partials, kvB.buffer, args.output,
    ...(selected ? [selected.counts] : [])], 'mla_combine_value_up');
  return simpleCall('mla_combine_value_up', pipeline, group, (rows) => {
    if (rows > maxRows) throw new Error(`${kernel}: rows=${rows} but its buffers hold ${maxRows} rows`);
    return [Math.ceil(dV / ROWS), nH, rows];
  });
}
