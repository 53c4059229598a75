// Multi-head Latent Attention in the weight-absorbed form (shared/docs/deepseek-math.md §3.3), used for prefill
// rows and decode alike, over a per-layer latent cache [maxContext, rKV + dR] of [c ; kR] per token. One step is
//   mlaQueryAbsorb  q -> qAbs [T, nH, rKV + dR] = [W_UK_hᵀ·qN ; RoPE(qR)]; with `append`, in the same dispatch,
//                   kv_a output -> cache rows pos0..pos0+T-1 (RMSNorm of the latent, adjacent-pair RoPE of kR)
//   mlaAttention    qAbs x cache -> ô [T, nH, rKV] (causal, or the DSA selection when step.sparse == 1); with
//                   `split` (decode) each head's keys are shared by several workgroups writing partial softmax
//                   states, and mlaCombine merges them into ô
//   mlaValueUp      ô -> [T, nH·dV] = W_UV_h·ô per head (the o_proj input)
// Shapes are compile-time defines; rows, pos0 and the sparse/dense choice come from the Step uniform. On GPUs, steps
// of TILED_MIN_ROWS rows or more (prefill chunks) run the absorption and the value up-projection as register-tiled
// products (mla_absorb_tiled.wgsl); shorter steps, decode among them, and CPU adapters run mla_absorb.wgsl.
// Invariant: kv_b_proj is [nH·(dN+dV), rKV] with head h's W_UK rows first, then its W_UV rows.
import absorbSource from '../../shaders/mla_absorb.wgsl';
import tiledSource from '../../shaders/mla_absorb_tiled.wgsl';
import attentionSource from '../../shaders/mla_attention.wgsl';
import { f32, type Defines } from '../gpu/preprocess';
import { byRows, sequence, simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import type { GpuWeight } from '../weights/gpu-weight';
import { checkKeyAppend, indexerKeyAppend, type IndexerKeyAppendArgs } from './indexer';
import { matmulThreadDefines } from './linear';
import { weightDefines } from './weight-args';

/** The latent-cache append that rides in the query absorption's dispatch (rKV, dR and the RoPE table are shared). */
export interface MlaKvAppend {
  kva: GPUBuffer; // [T, rKV + dR] kv_a_proj_with_mqa output
  normWeight: GPUBuffer; // [rKV] kv_a_layernorm
  eps: number;
  latentCache: GPUBuffer; // [maxContext, rKV + dR]
}

export interface MlaQueryAbsorbArgs {
  q: GPUBuffer; // [T, nH, dN + dR] q_proj / q_b_proj output, RoPE not yet applied
  kvB: GpuWeight; // kv_b_proj [nH·(dN+dV), rKV]
  nH: number;
  dN: number;
  dR: number;
  dV: number;
  rKV: number;
  ropeTable: GPUBuffer; // [positions, dR/2, 2]
  qAbs: GPUBuffer; // [T, nH, rKV + dR]
  /** Appends the step's latent rows to the cache in the same dispatch (one more workgroup column). */
  append?: MlaKvAppend;
  /**
   * V3.2 (with `append`): caches the step's DSA indexer keys too, in the same dispatch (one more workgroup column)
   * where the device allows the storage buffers it binds; otherwise, and for steps on the tiled path (prefill
   * chunks on GPUs), indexerKeyAppend's own dispatch runs first. dR must be the absorption's.
   */
  indexerAppend?: IndexerKeyAppendArgs;
}

export interface MlaSelection {
  indices: GPUBuffer; // [T, topk] u32 key positions, each ≤ pos0 + t
  counts: GPUBuffer; // [T] u32 valid entries per row (≤ topk)
  topk: number;
}

export interface MlaAttentionArgs {
  qAbs: GPUBuffer; // [T, nH, rKV + dR]
  latentCache: GPUBuffer; // [maxContext, rKV + dR]
  nH: number;
  rKV: number;
  dR: number;
  scale: number; // τ, the softmax scale
  maxContext: number;
  output: GPUBuffer; // [T, nH, rKV] ô
  /** DSA top-k keys; used only in steps written with sparse = true. */
  selected?: MlaSelection;
  /**
   * Split the keys of each (row, head) over `splits` workgroups (decode: NH x splits workgroups fill the GPU) that
   * write their shares to `partials` [T, nH, splits, rKV + 2] instead of `output`; mlaCombine then writes ô.
   */
  split?: MlaSplit;
}

export interface MlaSplit {
  splits: number;
  partials: GPUBuffer; // [T, nH, splits, rKV + 2] f32
}

export interface MlaCombineArgs {
  nH: number;
  rKV: number;
  split: MlaSplit;
  output: GPUBuffer; // [T, nH, rKV] ô
}

export interface MlaValueUpArgs {
  attnLatent: GPUBuffer; // [T, nH, rKV] ô
  kvB: GpuWeight; // kv_b_proj [nH·(dN+dV), rKV]
  nH: number;
  dN: number;
  dV: number;
  rKV: number;
  output: GPUBuffer; // [T, nH·dV]
}

const ABSORB_WG = 128;
const ATTENTION_WG = 128;
/**
 * Threads sharing one key's score dot in mla_attention.wgsl (coalesced reads of its cache row) on GPUs; on CPU
 * adapters one thread per key, as the extra partial sums cost more than they save there.
 */
const SCORE_LANES = { gpu: 16, cpu: 1 } as const;
// Value up-projection layout, as the matrix-vector kernels' (matvec-shape.ts): on GPUs 8 output rows per workgroup
// of 256, 32 threads each, then a reduction; on CPU adapters one invocation per output row and no reduction (its
// barriers made this kernel cost as much as the rest of a layer on SwiftShader).
const VALUE_UP = { gpu: { WG: 256, ROWS: 8 }, cpu: { WG: 64, ROWS: 64 } } as const;
const TOKEN_TILE = 4; // token rows sharing one pass over the weights
// Query absorption layout: on GPUs 8 threads share each column pair's DN rows (a decode row then runs NH x 16
// workgroups of 256 instead of NH of 128, which left the GPU idle while each thread walked 128 rows); on CPU
// adapters one thread per pair.
const ABSORB = { gpu: { WG: 256, DSPLIT: 8 }, cpu: { WG: ABSORB_WG, DSPLIT: 1 } } as const;
const WORKGROUP_BYTES = 16384;
/**
 * GPU steps of at least this many rows run the tiled products of mla_absorb_tiled.wgsl, which read each kv_b_proj
 * word once per 32 token rows; shorter steps keep the layouts above, which spread a few rows over many workgroups.
 */
export const TILED_MIN_ROWS = 16;
/**
 * Tiled query absorption: 32 token rows x 128 qAbs columns a workgroup of 256 threads (4 x 4 outputs a thread);
 * a 256-row chunk of 16 heads with rKV 512 is 512 workgroups. Its workgroup memory is fixed: 11.5 KiB.
 */
const TILED_ABSORB = { WG: 256, TT: 32, TN: 128 } as const;
/**
 * Tiled value up-projection: common/matmul_tile.wgsl at TILE_T 32 rows x 128 outputs of one head (ctx.matmulThreadRows
 * rows x 8 outputs a thread); a 256-row chunk of 16 heads with dV 128 is 128 workgroups (at TILE_T 64: 64, half of
 * an H100's SMs idle).
 */
const TILED_VALUE_UP = { TILE_T: 32, TN: 128 } as const;

export function requireCount(kernel: string, name: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${kernel}: ${name} must be an integer ≥ ${min}, got ${value}`);
}

function requireRopeDim(kernel: string, dR: number): void {
  requireCount(kernel, 'dR', dR, 2);
  if (dR % 2 !== 0) throw new Error(`${kernel}: dR must be even (RoPE pairs), got ${dR}`);
}

export function requireKvB(kernel: string, kvB: GpuWeight, nH: number, dN: number, dV: number, rKV: number): void {
  const [rows, cols] = kvB.shape;
  if (kvB.shape.length !== 2 || rows !== nH * (dN + dV) || cols !== rKV) {
    throw new Error(`${kernel}: kvB has shape [${kvB.shape}], expected [${nH * (dN + dV)}, ${rKV}] = [nH·(dN+dV), rKV]`);
  }
  if (kvB.dtype !== 'f32' && kvB.dtype !== 'f16') {
    throw new Error(`${kernel}: kvB is ${kvB.dtype}; the MLA kernels read kv_b_proj in f32 or f16 (weight plans keep it at most f16)`);
  }
  const stride = kvB.dtype === 'f16' ? Math.ceil(rKV / 2) : rKV;
  if (kvB.rowStride !== stride) throw new Error(`${kernel}: kvB rowStride ${kvB.rowStride} ≠ ${stride} for ${kvB.dtype}`);
}

function requireBytes(kernel: string, name: string, buffer: GPUBuffer, bytes: number): void {
  if (buffer.size < bytes) throw new Error(`${kernel}: ${name} holds ${buffer.size} bytes, needs at least ${bytes}`);
}

/**
 * Storage buffers the row-layout absorption binds: q, kvB, ropeTable and qAbs; the latent append's kva, norm weight
 * and cache; the indexer key append's four (11 in all, where WebGPU's default allows 8).
 */
function absorbStorageBuffers(append: boolean, indexer: boolean): number {
  return 4 + (append ? 3 : 0) + (indexer ? 4 : 0);
}

/**
 * qAbs[t,h] = [W_UK_hᵀ·qN[t,h] ; ropeAdjacent(qR[t,h], pos0 + t)]; with `append`, also latentCache[pos0 + t] =
 * [RMSNorm(kva[t, :rKV]) ⊙ w ; ropeAdjacent(kva[t, rKV:], pos0 + t)] for every row t; with `indexerAppend`, the
 * indexer keys as indexerKeyAppend caches them.
 */
export function mlaQueryAbsorb(ctx: GpuContext, args: MlaQueryAbsorbArgs): KernelCall {
  const kernel = 'mlaQueryAbsorb';
  const { nH, dN, dR, dV, rKV, kvB } = args;
  for (const [name, value] of Object.entries({ nH, dN, dV, rKV })) requireCount(kernel, name, value);
  requireRopeDim(kernel, dR);
  requireKvB(kernel, kvB, nH, dN, dV, rKV);
  const { WG, DSPLIT } = ABSORB[ctx.layout];
  const append = args.append;
  const ix = args.indexerAppend;
  if (ix && !append) throw new Error(`${kernel}: indexerAppend rides only with append`);
  if (ix && ix.dR !== dR) throw new Error(`${kernel}: indexerAppend dR ${ix.dR} differs from dR ${dR}`);
  if (ix) checkKeyAppend(ix);
  // The key append in this dispatch where the device allows its storage buffers; its own dispatch where it does not,
  // and before the tiled absorption (GPU steps of TILED_MIN_ROWS rows or more).
  const fused = ix && absorbStorageBuffers(true, true) <= ctx.device.limits.maxStorageBuffersPerShaderStage ? ix : undefined;
  const ownIndexer = ix && (!fused || ctx.layout === 'gpu') ? indexerKeyAppend(ctx, ix) : null;
  if (TOKEN_TILE * dN * 4 + (DSPLIT > 1 ? WG * TOKEN_TILE * 8 : 0) + (append ? WG * 4 : 0) + (fused ? fused.dI * 4 : 0)
    > WORKGROUP_BYTES) {
    throw new Error(`${kernel}: dN ${dN} too large for workgroup memory`);
  }
  let cacheRows = 0;
  if (append) {
    if (!(append.eps > 0)) throw new Error(`${kernel}: append eps must be positive, got ${append.eps}`);
    cacheRows = Math.floor(append.latentCache.size / ((rKV + dR) * 4));
    requireCount(kernel, 'latentCache rows', cacheRows);
    requireBytes(kernel, 'append normWeight', append.normWeight, rKV * 4);
  }
  const shape = {
    NH: nH, DN: dN, DR: dR, DV: dV, RKV: rKV, ROW_STRIDE: kvB.rowStride, WEIGHT_F16: kvB.dtype === 'f16',
    APPEND: !!append, ...(append ? { EPS: f32(append.eps), CACHE_ROWS: cacheRows } : {}),
  };
  const indexerShape: Defines = fused ? { INDEXER_APPEND: true, NI: fused.nI, DI: fused.dI, IX_EPS: f32(fused.eps), IX_BINDING: 8 } : {};
  const pipeline = ctx.pipeline('mla_absorb', absorbSource, { WG, DSPLIT, SLICES: DSPLIT > 1, TT: TOKEN_TILE, ...shape, ...indexerShape });
  const bindings = [ctx.step, args.q, kvB.buffer, args.ropeTable, args.qAbs,
    ...(append ? [append.kva, append.normWeight, append.latentCache] : [])];
  const rowBindings = [...bindings, ...(fused ? [fused.keyAndWeights, fused.normWeight, fused.normBias, fused.indexerCache] : [])];
  const columnBlocks = Math.ceil(Math.ceil(rKV / 2) / (WG / DSPLIT));
  const headColumns = nH + (append ? 1 : 0);
  const rowsAbsorb = simpleCall('mla_query_absorb', pipeline, ctx.bindGroup(pipeline, rowBindings, 'mla_query_absorb'),
    (rows) => [headColumns + (fused ? 1 : 0), Math.ceil(rows / TOKEN_TILE), columnBlocks]);
  // Where the indexer keys do not ride along, their own dispatch goes first (the attention reads neither yet).
  const withIndexer = (call: KernelCall): KernelCall[] => (ownIndexer ? [ownIndexer, call] : [call]);
  const rowsCall = fused || !ownIndexer ? rowsAbsorb : sequence(withIndexer(rowsAbsorb));
  if (ctx.layout !== 'gpu') return rowsCall;
  const { TT, TN } = TILED_ABSORB;
  const tiled = ctx.pipeline('mla_absorb_tiled', tiledSource, { WG: TILED_ABSORB.WG, TT, ...shape });
  const tiledCall = simpleCall('mla_query_absorb', tiled, ctx.bindGroup(tiled, bindings, 'mla_query_absorb.tiled'),
    (rows) => [headColumns, Math.ceil(rows / TT), Math.ceil(rKV / TN)]);
  return byRows((rows) => rows < TILED_MIN_ROWS, rowsCall, withIndexer(tiledCall));
}

/**
 * ô[t,h] = Σ_u softmax_u(τ·(qAbs[t,h]·cache[u])) · c(u) over u ≤ pos0 + t, or over the DSA selection of row t
 * when `selected` is given and the step is sparse. Online softmax: no scores buffer, any context length.
 */
export function mlaAttention(ctx: GpuContext, args: MlaAttentionArgs): KernelCall {
  const kernel = 'mlaAttention';
  const { nH, rKV, dR, maxContext, selected, split } = args;
  checkAttentionArgs(kernel, args);
  const width = rKV + dR;
  const scoreLanes = SCORE_LANES[ctx.layout];
  if ((width + 2 * ATTENTION_WG + ATTENTION_WG * (scoreLanes + 1)) * 4 > WORKGROUP_BYTES) {
    throw new Error(`${kernel}: rKV + dR = ${width} too large for workgroup memory`);
  }
  const pipeline = ctx.pipeline('mla_attention', attentionSource, {
    WG: ATTENTION_WG, SCORE_LANES: scoreLanes, NH: nH, RKV: rKV, DR: dR, SCALE: f32(args.scale), MAX_CONTEXT: maxContext,
    SELECTION: !!selected, ...(selected ? { TOPK: selected.topk } : {}), SPLIT: !!split, SPLITS: split ? split.splits : 1,
  });
  const bindings = [ctx.step, args.qAbs, args.latentCache, split ? split.partials : args.output,
    ...(selected ? [selected.indices, selected.counts] : [])];
  const maxRows = split ? splitRows(kernel, nH, rKV, split) : Infinity;
  return simpleCall('mla_attention', pipeline, ctx.bindGroup(pipeline, bindings, 'mla_attention'), (rows) => {
    if (rows > maxRows) throw new Error(`${kernel}: rows=${rows} but partials hold ${maxRows} rows`);
    return [nH, rows, split ? split.splits : 1];
  });
}

/** The checks every attention kernel makes on the arguments they share (mlaAttention, mla-heads.ts). */
export function checkAttentionArgs(kernel: string,
  args: Pick<MlaAttentionArgs, 'nH' | 'rKV' | 'dR' | 'scale' | 'maxContext' | 'latentCache' | 'selected'>): void {
  const { nH, rKV, dR, maxContext, selected } = args;
  for (const [name, value] of Object.entries({ nH, rKV, maxContext })) requireCount(kernel, name, value);
  requireRopeDim(kernel, dR);
  if (!Number.isFinite(args.scale) || args.scale <= 0) throw new Error(`${kernel}: scale must be positive, got ${args.scale}`);
  requireBytes(kernel, 'latentCache', args.latentCache, maxContext * (rKV + dR) * 4);
  if (selected) requireCount(kernel, 'selected.topk', selected.topk);
}

/** Bytes of split shares [rows, nH, splits, rKV + 2] f32 (each share: ô accumulator, running max m, sum l). */
export function splitPartialsBytes(rows: number, nH: number, rKV: number, splits: number): number {
  return rows * nH * splits * (rKV + 2) * 4;
}

/** Rows of split shares `split.partials` holds (at least one, or it throws); checks the split count. */
export function splitRows(kernel: string, nH: number, rKV: number, split: MlaSplit): number {
  requireCount(kernel, 'split.splits', split.splits);
  const rowBytes = splitPartialsBytes(1, nH, rKV, split.splits);
  requireBytes(kernel, 'split.partials', split.partials, rowBytes);
  return Math.floor(split.partials.size / rowBytes);
}

/** ô[t,h] from the split shares mlaAttention wrote (mla_attention.wgsl `combine`). */
export function mlaCombine(ctx: GpuContext, args: MlaCombineArgs): KernelCall {
  const kernel = 'mlaCombine';
  const { nH, rKV, split } = args;
  for (const [name, value] of Object.entries({ nH, rKV })) requireCount(kernel, name, value);
  const maxRows = Math.min(splitRows(kernel, nH, rKV, split), Math.floor(args.output.size / (nH * rKV * 4)));
  const pipeline = ctx.pipeline('mla_attention', attentionSource, { WG: ATTENTION_WG, NH: nH, RKV: rKV, DR: 0, SPLITS: split.splits, COMBINE: true }, 'combine');
  const group = ctx.bindGroup(pipeline, [ctx.step, split.partials, args.output], 'mla_combine');
  return simpleCall('mla_combine', pipeline, group, (rows) => {
    if (rows > maxRows) throw new Error(`${kernel}: rows=${rows} but its buffers hold ${maxRows} rows`);
    return [nH, rows];
  });
}

/** output[t, h·dV + i] = Σ_j W_UV_h[i, j] · ô[t,h,j]; the tiled product for GPU steps of TILED_MIN_ROWS rows or more. */
export function mlaValueUp(ctx: GpuContext, args: MlaValueUpArgs): KernelCall {
  const kernel = 'mlaValueUp';
  const { nH, dN, dV, rKV, kvB } = args;
  for (const [name, value] of Object.entries({ nH, dN, dV, rKV })) requireCount(kernel, name, value);
  requireKvB(kernel, kvB, nH, dN, dV, rKV);
  const { WG, ROWS } = VALUE_UP[ctx.layout];
  const pipeline = ctx.pipeline('mla_absorb', absorbSource, {
    WG, ROWS, TT: TOKEN_TILE, NH: nH, DN: dN, DV: dV, RKV: rKV,
    ROW_STRIDE: kvB.rowStride, WEIGHT_F16: kvB.dtype === 'f16', VALUE_UP: true,
  });
  const bindings = [ctx.step, args.attnLatent, kvB.buffer, args.output];
  const rowsCall = simpleCall('mla_value_up', pipeline, ctx.bindGroup(pipeline, bindings, 'mla_value_up'),
    (rows) => [Math.ceil((nH * dV) / ROWS), Math.ceil(rows / TOKEN_TILE)]);
  if (ctx.layout !== 'gpu') return rowsCall;
  const { TILE_T, TN } = TILED_VALUE_UP;
  const tiled = ctx.pipeline('mla_absorb_tiled', tiledSource, {
    NH: nH, DN: dN, DV: dV, RKV: rKV, ...weightDefines(kvB), TILE_T, ...matmulThreadDefines(ctx), VALUE_UP: true,
  });
  const tiledCall = simpleCall('mla_value_up', tiled, ctx.bindGroup(tiled, bindings, 'mla_value_up.tiled'),
    (rows) => [nH * Math.ceil(dV / TN), Math.ceil(rows / TILE_T)]);
  return byRows((rows) => rows < TILED_MIN_ROWS, rowsCall, [tiledCall]);
}
