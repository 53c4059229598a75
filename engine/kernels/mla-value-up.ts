// The value up-projection of weight-absorbed MLA (shaders/mla_value_up.wgsl): output[t, h·dV + i] =
// Σ_j W_UV_h[i, j] · ô[t,h,j], the o_proj input. ô comes whole from the unsplit attention, or as the split shares
// [T, nH, splits, rKV + 2] the attention wrote (mla.ts `split`, mla-heads.ts), which this kernel merges itself, so
// no dispatch of its own merges them. Each workgroup takes ROWS rows of one head's W_UV_h and merges that head's ô
// once into workgroup memory (ROWS outputs share the merge).
import valueUpSource from '../../shaders/mla_value_up.wgsl';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import type { GpuWeight } from '../weights/gpu-weight';
import { requireBytes, requireCount, requireKvB, splitRows, TOKEN_TILE, WORKGROUP_BYTES, type MlaSelection, type MlaSplit } from './mla';

/** The attention shares the value up-projection merges into ô. */
export interface MlaValueShares {
  split: MlaSplit;
  /**
   * Set for the heads kernel's shares (mla-heads.ts MIN_SHARE_KEYS): row t then has as many shares of at least
   * this many keys as its keys fill (the rest of `split.partials` is stale). Absent: every share is written.
   */
  minShareKeys?: number;
  /** The DSA selection whose counts give a sparse step's keys per row (heads shares only). */
  selected?: Pick<MlaSelection, 'counts' | 'topk'>;
}

export interface MlaValueUpArgs {
  /** ô [T, nH, rKV] written whole (exactly one of attnLatent and shares). */
  attnLatent?: GPUBuffer;
  shares?: MlaValueShares;
  kvB: GpuWeight; // kv_b_proj [nH·(dN+dV), rKV]
  nH: number;
  dN: number;
  dV: number;
  rKV: number;
  output: GPUBuffer; // [T, nH·dV]
}

// On GPUs 32 rows of a head per workgroup of 256 (8 threads a row, then a reduction): 4 workgroups per head of 128
// rows each merge the head's shares, few enough that the merges' reads stay small beside the weights'. On CPU
// adapters one invocation per output row and no reduction (its barriers cost as much as the rest of a layer there).
const LAYOUT = { gpu: { WG: 256, ROWS: 32 }, cpu: { WG: 64, ROWS: 64 } } as const;
const MAX_BATCH = 32; // weight pairs per thread loaded together (all of a 512-wide row's on GPUs)

/** output[t, h·dV + i] = Σ_j W_UV_h[i, j] · ô[t,h,j], ô read whole or merged from the attention's shares. */
export function mlaValueUp(ctx: GpuContext, args: MlaValueUpArgs): KernelCall {
  const kernel = 'mlaValueUp';
  const { nH, dN, dV, rKV, kvB, shares } = args;
  for (const [name, value] of Object.entries({ nH, dN, dV, rKV })) requireCount(kernel, name, value);
  requireKvB(kernel, kvB, nH, dN, dV, rKV);
  if (!args.attnLatent === !shares) throw new Error(`${kernel}: give exactly one of attnLatent and shares`);
  const { WG, ROWS } = LAYOUT[ctx.layout];
  const lanes = WG / ROWS;
  const splits = shares ? shares.split.splits : 0;
  const sharedFloats = TOKEN_TILE * (rKV + WG) + (shares ? TOKEN_TILE * (splits + 1) : 0);
  if (sharedFloats * 4 > WORKGROUP_BYTES) throw new Error(`${kernel}: rKV ${rKV} with ${splits} shares too large for workgroup memory`);
  requireBytes(kernel, 'output', args.output, nH * dV * 4);
  let maxRows = Math.floor(args.output.size / (nH * dV * 4));
  if (shares) {
    maxRows = Math.min(maxRows, splitRows(kernel, nH, rKV, shares.split));
    if (shares.minShareKeys !== undefined) requireCount(kernel, 'shares.minShareKeys', shares.minShareKeys);
    if (shares.selected) {
      if (shares.minShareKeys === undefined) throw new Error(`${kernel}: a selection counts only the heads kernel's shares`);
      requireCount(kernel, 'shares.selected.topk', shares.selected.topk);
      maxRows = Math.min(maxRows, Math.floor(shares.selected.counts.size / 4));
    }
  } else {
    maxRows = Math.min(maxRows, Math.floor(args.attnLatent!.size / (nH * rKV * 4)));
  }
  const heads = shares?.minShareKeys !== undefined;
  const pipeline = ctx.pipeline('mla_value_up', valueUpSource, {
    WG, ROWS, TT: TOKEN_TILE, BATCH: Math.min(MAX_BATCH, Math.ceil(Math.ceil(rKV / 2) / lanes)),
    NH: nH, DN: dN, DV: dV, RKV: rKV, ROW_STRIDE: kvB.rowStride, WEIGHT_F16: kvB.dtype === 'f16',
    SHARES: !!shares, ...(shares ? { SPLITS: splits } : {}),
    HEAD_SHARES: heads, ...(heads ? { MIN_KEYS: shares!.minShareKeys!, COUNT_ONLY: true } : {}),
    SELECTION: !!shares?.selected, ...(shares?.selected ? { TOPK: shares.selected.topk } : {}),
  });
  const bindings = [ctx.step, shares ? shares.split.partials : args.attnLatent!, kvB.buffer, args.output,
    ...(shares?.selected ? [shares.selected.counts] : [])];
  const blocks = Math.ceil(dV / ROWS);
  return simpleCall('mla_value_up', pipeline, ctx.bindGroup(pipeline, bindings, 'mla_value_up'), (rows) => {
    if (rows > maxRows) throw new Error(`${kernel}: rows=${rows} but its buffers hold ${maxRows} rows`);
    return [nH * blocks, Math.ceil(rows / TOKEN_TILE)];
  });
}
