// DSA lightning-indexer kernel drivers (V3.2, deepseek-math.md §6.1): `indexerKeyAppend` normalises, rotates and
// caches each token's indexer key (shaders/indexer_key.wgsl); `indexerSelect` scores every query row against the
// cached keys (half-split RoPE of the queries applied on the fly; GPU layout shaders/indexer_scores_tiled.wgsl,
// whole key tiles in registers and the rotated queries staged once; CPU layout shaders/indexer_scores.wgsl, dim
// chunks staged per tile, quick on SwiftShader) and picks each
// row's top-k keys on the GPU (shaders/topk.wgsl, radix select + compaction); `indexerTopk` is the selection
// alone. Shapes: keyAndWeights [T, dI + nI] (wk·x then weights_proj·x), queries [T, nI, dI], indexerCache
// [maxContext, dI], ropeTable [positions, dR/2, 2], scores [T, maxContext] f32, indices [T, topk] u32, counts [T]
// u32. Row t sits at absolute position pos0 + t (the Step uniform); only keys u ≤ pos0 + t count. indexerSelect is
// two dispatches: the query RoPE is fused into the scores kernel, so `queries` is only read (re-encoding is safe),
// and rows with pos0 + t + 1 ≤ topk skip scoring and just write 0..count−1.
import keySource from '../../shaders/indexer_key.wgsl';
import scoresSource from '../../shaders/indexer_scores.wgsl';
import scoresTiledSource from '../../shaders/indexer_scores_tiled.wgsl';
import topkSource from '../../shaders/topk.wgsl';
import { f32 } from '../gpu/preprocess';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';

export interface IndexerKeyAppendArgs {
  keyAndWeights: GPUBuffer; // [T, dI + nI]
  nI: number; // index_n_heads
  dI: number; // index_head_dim
  dR: number; // rotated dims (qk_rope_head_dim), the first dR of each key
  normWeight: GPUBuffer; // [dI]
  normBias: GPUBuffer; // [dI]
  eps: number;
  ropeTable: GPUBuffer; // [positions, dR/2, 2]
  indexerCache: GPUBuffer; // [maxContext, dI]
}

export interface IndexerTopkArgs {
  scores: GPUBuffer; // [T, maxContext] f32
  indices: GPUBuffer; // [T, topk] u32
  counts: GPUBuffer; // [T] u32
  topk: number;
  maxContext: number;
  /** Threads per workgroup and keys kept in registers a thread (by adapter kind and row length unless given: TOPK_LAYOUTS). */
  layout?: TopkLayout;
}

export interface IndexerSelectArgs extends IndexerTopkArgs {
  queries: GPUBuffer; // [T, nI, dI], not rotated
  keyAndWeights: GPUBuffer; // [T, dI + nI]
  indexerCache: GPUBuffer; // [maxContext, dI]
  nI: number;
  dI: number;
  dR: number;
  ropeTable: GPUBuffer; // [positions, dR/2, 2]
}

const KEY_WG = 64;
const SCORE_THREADS = 256;
const SCORE_KEY_GROUPS = 16; // at most; 4 keys each, so tiles of up to 64 keys
const SCORE_DIM_CHUNK = 16;
const SCORE_QUERY_VEC4S = 512; // q_chunk budget: DC · HG vec4 = 8 KiB of workgroup memory
const MAX_HEADS = 4 * SCORE_THREADS; // one head group of 4 per thread at most
const SCORE_GROUPS_PER_STEP = 512; // workgroups along the key axis for a one-row step; fewer per row as T grows
const MAX_ROWS = 65535; // rows go on a dispatch axis

/**
 * GPU layout of the scores (indexer_scores_tiled.wgsl): 256 threads, each key read by S = 4 adjacent threads (32 of
 * 128 dims each, 8 vec4 loads issued at once), R = 1 key a thread, so 64-key tiles; 256 workgroups a one-row step,
 * each walking its tiles with the next tile's keys loaded ahead (a 32,768-key decode row: 2 tiles a workgroup). On
 * the H100 (v32-lite-r16 at 32,768, one call) 256 and 128 workgroups took 18.4 and 18.8 µs a layer where 1,024 (a
 * tile each, the queries staged for every 64 keys) took 22.1, and the decode step 5.00 ms against 5.13.
 */
const TILED = { WG: 256, S: 4, R: 1, GROUPS_PER_STEP: 256 } as const;

interface TiledPlan { quadsPerBlock: number; blocks: number; bytes: number }

/**
 * Head quads per block (HQB: 4, 2 or 1, at most the quads there are) that fit the device's workgroup memory, most
 * first; null when none fits. 16 heads x 128 dims take 4 (27,200 bytes), 64 heads x 128 at 48 KiB 2.
 */
export function tiledScoresPlan(nI: number, dI: number, workgroupBytes: number): TiledPlan | null {
  const { WG, S, R } = TILED;
  const quads = Math.ceil(nI / 4);
  const columns = Math.ceil(dI / 4 / S) * S;
  const keysPerTile = R * (WG / S);
  for (const most of [4, 2, 1]) { // 3 would pad 4 quads to 6
    const quadsPerBlock = Math.min(most, quads);
    const blocks = Math.ceil(quads / quadsPerBlock);
    const headQuads = blocks * quadsPerBlock;
    // q_s, w_s, head_parts, key_parts
    const bytes = 16 * columns * (4 * headQuads + 1) + 16 * headQuads + 16 * keysPerTile * (quadsPerBlock * S + 1)
      + 4 * keysPerTile * S;
    if (bytes <= workgroupBytes) return { quadsPerBlock, blocks, bytes };
  }
  return null;
}

/** The checks on a key append's arguments, wherever it runs (its own dispatch or the query absorption's). */
export function checkKeyAppend(args: IndexerKeyAppendArgs): void {
  const { nI, dI, dR } = args;
  checkShape('indexerKeyAppend', nI, dI, dR);
  if (!(args.eps > 0)) throw new Error(`indexerKeyAppend: eps must be positive, got ${args.eps}`);
  requireBytes('indexerKeyAppend', 'normWeight', args.normWeight, dI * 4);
  requireBytes('indexerKeyAppend', 'normBias', args.normBias, dI * 4);
  requireBytes('indexerKeyAppend', 'ropeTable', args.ropeTable, dR * 4);
  requireBytes('indexerKeyAppend', 'indexerCache', args.indexerCache, dI * 4);
  requireBytes('indexerKeyAppend', 'keyAndWeights', args.keyAndWeights, (dI + nI) * 4);
}

export function indexerKeyAppend(ctx: GpuContext, args: IndexerKeyAppendArgs): KernelCall {
  checkKeyAppend(args);
  const { nI, dI, dR } = args;
  const pipeline = ctx.pipeline('indexer_key', keySource, { WG: KEY_WG, NI: nI, DI: dI, DR: dR, IX_EPS: f32(args.eps), IX_BINDING: 2 });
  const bindGroup = ctx.bindGroup(pipeline, [
    ctx.step, args.ropeTable, args.keyAndWeights, args.normWeight, args.normBias, args.indexerCache,
  ], 'indexer_key');
  return simpleCall('indexer_key', pipeline, bindGroup, (rows) => [rows]);
}

/**
 * Threads per top-k workgroup and the keys each keeps in registers (topk.wgsl), by the longest row's key count.
 * GPUs: rows of up to 16,384 keys take 512 threads x 16 keys, longer rows 1,024 x 32 (a row of 32,768 scores read
 * from memory once). Each key slot a thread holds costs about 0.35 µs whether or not the row fills it, so the small
 * layout wins short rows: on the H100 (bench/topk-layouts.ts, scores like a random-weight indexer's) 9.8 against
 * 18.3 µs at 2,049 keys and 11.2 against 19.0 at 8,192, while at 32,768 the large one does (46.0 against 55.3).
 * CPU adapters: 256 x 2. The workgroup size is capped by the device's limits.
 */
const TOPK_LAYOUTS: Record<'gpu' | 'cpu', { short: TopkLayout; long: TopkLayout | null }> = {
  gpu: { short: { WG: 512, REG: 16 }, long: { WG: 1024, REG: 32 } },
  cpu: { short: { WG: 256, REG: 2 }, long: null },
};
/** Longest row (keys) the short GPU layout takes. */
const TOPK_SHORT_KEYS = 16384;

export interface TopkLayout { WG: number; REG: number }

function cappedTopkLayout(ctx: GpuContext, layout: TopkLayout): TopkLayout {
  const limits = ctx.device.limits;
  let wg = layout.WG;
  while (wg > 256 && (wg > limits.maxComputeInvocationsPerWorkgroup || wg > limits.maxComputeWorkgroupSizeX)) wg /= 2;
  return { WG: wg, REG: layout.REG };
}

/**
 * The top-k selection alone, over scores already written for keys 0..pos0+t of each row. Which layout a step runs
 * follows the step last written (GpuContext.lastStep: its longest row has pos0 + rows keys); any layout selects
 * the same keys, so that only decides the speed.
 */
export function indexerTopk(ctx: GpuContext, args: IndexerTopkArgs): KernelCall {
  checkSelection('indexerTopk', args);
  const table = TOPK_LAYOUTS[ctx.layout];
  const make = (layout: TopkLayout) => {
    // Without subgroups: on the H100 the top-k with subgroup scans and slot claims per subgroup took 54.4 µs where
    // the workgroup-memory version takes 33.4 (32,769 keys), and 4.3 against 2.1 µs even for a row it only copies.
    const pipeline = ctx.pipeline('topk', topkSource, { TOPK: args.topk, MAX_CONTEXT: args.maxContext, ...cappedTopkLayout(ctx, layout) }, 'main', false);
    return simpleCall('topk', pipeline, ctx.bindGroup(pipeline, [ctx.step, args.scores, args.indices, args.counts], 'topk'),
      (rows) => [checkRows(rows)]);
  };
  if (args.layout) return make(args.layout);
  const short = make(table.short);
  const long = table.long && args.maxContext > TOPK_SHORT_KEYS ? make(table.long) : null;
  if (!long) return short;
  return {
    name: 'topk',
    encode(pass, rows) {
      const { pos0 } = ctx.lastStep;
      (pos0 + rows > TOPK_SHORT_KEYS ? long : short).encode(pass, rows);
    },
  };
}

/** The scores dispatch, then the top-k dispatch (two calls, so profiles show each). */
export function indexerSelect(ctx: GpuContext, args: IndexerSelectArgs): KernelCall[] {
  const { nI, dI, dR, maxContext } = args;
  checkShape('indexerSelect', nI, dI, dR);
  checkSelection('indexerSelect', args);
  requireBytes('indexerSelect', 'queries', args.queries, nI * dI * 4);
  requireBytes('indexerSelect', 'keyAndWeights', args.keyAndWeights, (dI + nI) * 4);
  requireBytes('indexerSelect', 'indexerCache', args.indexerCache, maxContext * dI * 4);
  requireBytes('indexerSelect', 'ropeTable', args.ropeTable, dR * 4);
  if (nI > MAX_HEADS) throw new Error(`indexerSelect: nI ${nI} exceeds ${MAX_HEADS} heads`);
  const tiled = ctx.layout === 'gpu' && dI % 4 === 0
    ? tiledScoresPlan(nI, dI, ctx.device.limits.maxComputeWorkgroupStorageSize) : null;
  const scores = tiled ? tiledScores(ctx, args, tiled) : chunkedScores(ctx, args);
  return [scores, indexerTopk(ctx, args)];
}

/** The GPU layout's scores call (indexer_scores_tiled.wgsl). */
function tiledScores(ctx: GpuContext, args: IndexerSelectArgs, plan: TiledPlan): KernelCall {
  const { nI, dI, dR, topk, maxContext } = args;
  const { WG, S, R, GROUPS_PER_STEP } = TILED;
  const pipeline = ctx.pipeline('indexer_scores_tiled', scoresTiledSource, {
    NI: nI, DI: dI, DR: dR, TOPK: topk, MAX_CONTEXT: maxContext, WG, S, R, HQB: plan.quadsPerBlock,
    HBLOCKS: plan.blocks, SCALE: f32(Math.pow(nI, -0.5) * Math.pow(dI, -0.5)),
  });
  const bindGroup = ctx.bindGroup(pipeline, [
    ctx.step, args.queries, args.keyAndWeights, args.indexerCache, args.ropeTable, args.scores,
  ], 'indexer_scores_tiled');
  return scoresCall(pipeline, bindGroup, Math.ceil(maxContext / (R * (WG / S))), GROUPS_PER_STEP);
}

/** The CPU layout's scores call (indexer_scores.wgsl): dim chunks staged per tile. */
function chunkedScores(ctx: GpuContext, args: IndexerSelectArgs): KernelCall {
  const { nI, dI, dR, topk, maxContext } = args;
  const headGroups = Math.ceil(nI / 4);
  const keyGroups = Math.min(SCORE_KEY_GROUPS, Math.floor(SCORE_THREADS / headGroups));
  const dimChunk = Math.max(1, Math.min(SCORE_DIM_CHUNK, Math.floor(SCORE_QUERY_VEC4S / headGroups), dI));
  const scorePipeline = ctx.pipeline('indexer_scores', scoresSource, {
    NI: nI, DI: dI, DR: dR, TOPK: topk, MAX_CONTEXT: maxContext, HG: headGroups, KG: keyGroups, DC: dimChunk,
    SCALE: f32(Math.pow(nI, -0.5) * Math.pow(dI, -0.5)),
  });
  const scoreGroup = ctx.bindGroup(scorePipeline, [
    ctx.step, args.queries, args.keyAndWeights, args.indexerCache, args.ropeTable, args.scores,
  ], 'indexer_scores');
  return scoresCall(scorePipeline, scoreGroup, Math.ceil(maxContext / (4 * keyGroups)), SCORE_GROUPS_PER_STEP);
}

/**
 * The scores dispatch: workgroups along x walk a row's key tiles (all `tiles` of them for a one-row step, down to 4
 * as the rows, along y, grow, so a step launches about `groupsPerStep` workgroups).
 */
function scoresCall(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, tiles: number, groupsPerStep: number): KernelCall {
  return simpleCall('indexer_scores', pipeline, bindGroup, (rows) => {
    const perRow = Math.min(tiles, Math.max(4, Math.floor(groupsPerStep / Math.max(rows, 1))));
    return [perRow, checkRows(rows)];
  });
}

function checkShape(op: string, nI: number, dI: number, dR: number): void {
  if (!Number.isInteger(nI) || nI < 1) throw new Error(`${op}: nI must be a positive integer, got ${nI}`);
  if (!Number.isInteger(dI) || dI < 1) throw new Error(`${op}: dI must be a positive integer, got ${dI}`);
  if (!Number.isInteger(dR) || dR < 2 || dR % 2 !== 0 || dR > dI) {
    throw new Error(`${op}: dR must be an even integer in [2, dI=${dI}], got ${dR}`);
  }
}

function checkSelection(op: string, args: IndexerTopkArgs): void {
  const { topk, maxContext } = args;
  if (!Number.isInteger(topk) || topk < 1) throw new Error(`${op}: topk must be a positive integer, got ${topk}`);
  if (!Number.isInteger(maxContext) || maxContext < 1) {
    throw new Error(`${op}: maxContext must be a positive integer, got ${maxContext}`);
  }
  requireBytes(op, 'scores', args.scores, maxContext * 4);
  requireBytes(op, 'indices', args.indices, topk * 4);
  requireBytes(op, 'counts', args.counts, 4);
}

function requireBytes(op: string, name: string, buffer: GPUBuffer, bytes: number): void {
  if (!buffer || buffer.size < bytes) {
    throw new Error(`${op}: ${name} holds ${buffer?.size ?? 0} bytes, needs at least ${bytes}`);
  }
}

function checkRows(rows: number): number {
  if (rows > MAX_ROWS) throw new Error(`indexer: ${rows} rows exceed one dispatch axis (${MAX_ROWS})`);
  return rows;
}
