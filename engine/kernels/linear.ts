// Dense projection drivers (shaders/linear.wgsl, linear_matmul.wgsl): `linear` (y = x·Wᵀ, W [N, K]) and `linearSwiGLU` (the fused
// gate + up + SiLU of a SwiGLU FFN, W [2N, K] with gate rows first). Weights f32 or packed f16/q8/q4 (GpuWeight). A
// step of one token row runs the matrix-vector kernel (memory-bound decode; threads per row by adapter kind,
// matvec-shape.ts); more rows run the tiled matmul (linear_matmul.wgsl: 64 tokens x 128 outputs per workgroup,
// K split over several workgroups and summed by a second dispatch where the output tiles are few) on GPUs, and the
// matrix-vector kernel once per row (workgroup_id.z) on CPU adapters (ctx.rowsKernel, matvec-shape.ts). The
// matrix-vector kernel is linear_packed.wgsl (16-byte chunks, ctx.packedShapeFor('linear')) for f16/q8/q4 rows whose
// K is a multiple of a chunk, linear.wgsl's element-pair one otherwise. Pipelines and bind groups are built once; `encode` only picks one from `rows` and dispatches. `lastRow`
// computes only the step's last row (matrix-vector at t = rows - 1): the lm_head when only the next token matters.
// A weight split across buffers by rows (engine/weights/split-weight.ts, tensors over the adapter's buffer limit,
// e.g. a large vocabulary's lm_head) runs one dispatch per part, each writing its slice of the output columns
// (OUT_OFFSET within rows of OUT_STRIDE); the results are the same as from one buffer.
// `norm`: the input is un-normed (the residual stream, or V3's query latent before q_a_layernorm) and the RMSNorm
// runs inside the packed matrix-vector dispatch, which also writes the normed row to norm.normed (input-norm.ts);
// where the packed kernel does not run the step (split or unpacked weights, several rows on GPUs) an rmsNorm
// dispatch writes norm.normed first.
// Also exports the buffer validation and grid folding that the expert kernels (experts.ts) share; weight checks
// and storage-format defines live in weight-args.ts.
import source from '../../shaders/linear.wgsl';
import matmulSource from '../../shaders/linear_matmul.wgsl';
import packedSource from '../../shaders/linear_packed.wgsl';
import { byRows, type GpuContext, type KernelCall } from '../gpu/context';
import type { Defines } from '../gpu/preprocess';
import { oneBuffer, weightParts, type RowsWeight, type WeightPart } from '../weights/split-weight';
import type { GpuWeight } from '../weights/gpu-weight';
import { inputNormDefines, type InputNorm } from './input-norm';
import { packedReduceDefines, packedRowsPerWorkgroup, type PackedMatvecShape } from './matvec-shape';
import { rmsNorm } from './rms-norm';
import { checkWeight, packedChunkFits, weightDefines } from './weight-args';

export { checkWeight };

/**
 * Matmul tile (common/matmul_tile.wgsl): TILE_T tokens x 128 outputs (SwiGLU: 64 outputs, their gate and up rows)
 * per workgroup, ctx.matmulThreadRows x 8 outputs a thread, K staged 16 at a time (12.5 KiB of workgroup memory).
 */
export const MATMUL_TILE = { TILE_T: 64 } as const;

/** The defines of common/matmul_tile.wgsl's rows per thread on `ctx`. */
export function matmulThreadDefines(ctx: GpuContext): Defines {
  return { THREAD_T: ctx.matmulThreadRows, THREAD_T8: ctx.matmulThreadRows === 8 };
}

/** Outputs one matmul workgroup covers. */
export function matmulTileOutputs(swiglu: boolean): number {
  return swiglu ? 64 : 128;
}

/** Workgroups a split matmul aims at (about two per SM of a large GPU); splits are at least 64 K elements, at most 8. */
const MATMUL_TARGET_WORKGROUPS = 256;
const MIN_SPLIT_ELEMENTS = 64;
const MAX_SPLITS = 8;

/**
 * How the tiled matmul cuts K for a step of up to `maxRows` rows with `outputTiles` output tiles: into `splits`
 * ranges of `kSplit` elements (a multiple of the 16-wide slice) when the tiles alone are too few workgroups to fill
 * a GPU (a 64-row prefill chunk of a 3072-output projection is 24 tiles), else one range.
 */
export function matmulSplit(k: number, outputTiles: number, maxRows: number): { splits: number; kSplit: number } {
  const tiles = outputTiles * Math.ceil(maxRows / MATMUL_TILE.TILE_T);
  const want = Math.min(MAX_SPLITS, Math.floor(k / MIN_SPLIT_ELEMENTS), Math.ceil(MATMUL_TARGET_WORKGROUPS / tiles));
  if (want <= 1) return { splits: 1, kSplit: Math.ceil(k / 16) * 16 };
  const kSplit = Math.ceil(k / want / 16) * 16;
  return { splits: Math.ceil(k / kSplit), kSplit };
}

const MAX_GRID = 65535;

export interface LinearArgs {
  input: GPUBuffer; // [T, K] f32
  weight: RowsWeight; // [N, K] (linear) or [2N, K] gate rows then up rows (linearSwiGLU); one buffer or parts
  output: GPUBuffer; // [T, N] f32
  /** Only output row rows - 1 (from input row rows - 1), whatever the step's rows; the other rows are untouched. */
  lastRow?: boolean;
  /** y += W·x instead of y = W·x (the residual add of a block's last projection); not with SwiGLU. */
  accumulate?: boolean;
  /** y = W·RMSNorm(x): the norm inside the dispatch where it can run there (see the header); not with lastRow. */
  norm?: InputNorm;
}

export function linear(ctx: GpuContext, args: LinearArgs): KernelCall {
  return args.norm ? normedLinear(ctx, args, args.norm) : buildLinear(ctx, 'linear', args, false);
}

function normedLinear(ctx: GpuContext, args: LinearArgs, norm: InputNorm): KernelCall {
  if (args.lastRow) throw new Error('linear: norm with lastRow is not supported');
  const k = args.weight.shape[1];
  const plain = { ...args, norm: undefined };
  const separate = [
    rmsNorm(ctx, { dim: k, eps: norm.eps, hidden: args.input, weight: norm.weight, out: norm.normed }),
    buildLinear(ctx, 'linear', { ...plain, input: norm.normed }, false),
  ];
  const weight = oneBuffer(args.weight);
  if (!weight || !packedChunkFits(weight) || !ctx.packedShapeFor('linear')) return byRows(() => false, separate[1], separate);
  const fused = buildLinear(ctx, 'linear', plain, false, norm);
  return byRows((rows) => rows === 1 || ctx.rowsKernel === 'matvec', fused, separate);
}

export function linearSwiGLU(ctx: GpuContext, args: LinearArgs): KernelCall {
  return buildLinear(ctx, 'linear_swiglu', args, true);
}

function buildLinear(ctx: GpuContext, name: string, args: LinearArgs, swiglu: boolean, norm?: InputNorm): KernelCall {
  if (swiglu && args.accumulate) throw new Error(`${name}: accumulate is for plain projections, not SwiGLU`);
  const parts = weightParts(args.weight);
  const k = parts[0].weight.shape[1];
  const n = parts.reduce((sum, part) => sum + outputsOf(name, part, k, swiglu), 0);
  const expected = swiglu ? 2 * n : n;
  if (args.weight.shape[0] !== expected || args.weight.shape[1] !== k) {
    throw new Error(`${name}: weight parts hold [${expected}, ${k}] but the weight is [${args.weight.shape}]`);
  }
  const maxRows = Math.min(rowsFitting(name, 'input', args.input, k), rowsFitting(name, 'output', args.output, n),
    norm ? rowsFitting(name, 'normed', norm.normed, k) : Infinity);
  const calls = parts.map((part) => buildPart(ctx, name, args, swiglu, part, { k, n, maxRows }, norm));
  return {
    name: args.lastRow ? `${name}.last_row` : name,
    encode(pass, rows) {
      if (rows === 0) return;
      checkRows(name, rows, maxRows);
      for (const encodePart of calls) encodePart(pass, rows);
    },
  };
}

/** Outputs (rows of y) of one part, checking the part is [rows, K] (SwiGLU: an even row count). */
function outputsOf(name: string, part: WeightPart, k: number, swiglu: boolean): number {
  const [rows, partK] = checkWeight(name, part.weight, 2);
  if (partK !== k) throw new Error(`${name}: weight part from row ${part.firstRow} has K=${partK}, not ${k}`);
  if (swiglu && rows % 2 !== 0) throw new Error(`${name}: weight has ${rows} rows; gate + up needs an even count`);
  return swiglu ? rows / 2 : rows;
}

/** Pipelines and bind groups of one weight part (outputs [firstRow, firstRow + rows) of y); returns its encoder. */
function buildPart(ctx: GpuContext, name: string, args: LinearArgs, swiglu: boolean, part: WeightPart,
  dims: { k: number; n: number; maxRows: number }, norm?: InputNorm) {
  const { weight, firstRow } = part;
  const partN = swiglu ? weight.shape[0] / 2 : weight.shape[0];
  const matvecShape = ctx.matvec;
  const packedShape = packedChunkFits(weight) ? ctx.packedShapeFor('linear') : null;
  const rowsPerGroup = packedShape ? packedRowsPerWorkgroup(packedShape) : matvecShape.ROWS_PER_WG;
  const [rowGridX, rowGridY] = foldGrid(name, Math.ceil(partN / rowsPerGroup));
  const defines: Defines = {
    K: dims.k, N: partN, OUT_STRIDE: dims.n, OUT_OFFSET: firstRow, ...weightDefines(weight), ...matvecShape,
    ROW_GRID_X: rowGridX, SWIGLU: swiglu, LAST_ROW: !!args.lastRow, ACCUMULATE: !!args.accumulate,
  };
  const label = firstRow > 0 ? `${name}[${firstRow}:]` : name;
  const bindings = [ctx.step, args.input, weight.buffer, args.output];
  // The packed kernel reads q8/q4 scales through a second, u32-typed binding of the same buffer; then the norm's.
  const packedBindings = [...bindings, ...(weight.dtype === 'f16' ? [] : [weight.buffer])];
  if (norm && !packedShape) throw new Error(`${name}: an input norm needs the packed kernel`);
  const matvec = packedShape
    ? ctx.pipeline('linear_packed', packedSource, {
      ...packedDefines(packedShape, dims.k, partN, weight, rowGridX, swiglu, !!args.lastRow, { stride: dims.n, offset: firstRow }),
      ACCUMULATE: !!args.accumulate, ...(norm ? inputNormDefines(norm, dims.k, packedBindings.length) : {}),
    })
    : ctx.pipeline('linear', source, defines, 'matvec');
  if (norm) packedBindings.push(norm.weight, norm.normed);
  const matvecGroup = ctx.bindGroup(matvec, packedShape ? packedBindings : bindings, `${label}.matvec`);
  const matmul = !args.lastRow && !norm && ctx.rowsKernel === 'matmul'
    ? buildMatmul(ctx, label, args, swiglu, weight, { ...dims, partN, firstRow })
    : null;
  return (pass: GPUComputePassEncoder, rows: number) => {
    if (rows === 1 || !matmul) {
      pass.setPipeline(matvec);
      pass.setBindGroup(0, matvecGroup);
      pass.dispatchWorkgroups(rowGridX, rowGridY, args.lastRow ? 1 : rows);
    } else {
      matmul(pass, rows);
    }
  };
}

/** The tiled matmul of one weight part (linear_matmul.wgsl), split over K and reduced where its tiles are few. */
function buildMatmul(ctx: GpuContext, label: string, args: LinearArgs, swiglu: boolean, weight: GpuWeight,
  dims: { k: number; n: number; maxRows: number; partN: number; firstRow: number }) {
  const { k, n, maxRows, partN, firstRow } = dims;
  const [tileGridX, tileGridY] = foldGrid(label, Math.ceil(partN / matmulTileOutputs(swiglu)));
  const { splits, kSplit } = matmulSplit(k, tileGridX * tileGridY, maxRows);
  const out = { N: partN, OUT_STRIDE: n, OUT_OFFSET: firstRow, SWIGLU: swiglu, ACCUMULATE: !!args.accumulate, SPLIT_K: splits };
  const pipeline = ctx.pipeline('linear_matmul', matmulSource, {
    ...out, K: k, ...weightDefines(weight), ...MATMUL_TILE, ...matmulThreadDefines(ctx), TILE_GRID_X: tileGridX, K_SPLIT: kSplit,
    SPLIT: splits > 1,
  });
  const partials = splits > 1
    ? ctx.scratchBuffer('matmul_partials', splits * maxRows * partN * (swiglu ? 2 : 1) * 4)
    : null;
  const group = ctx.bindGroup(pipeline, [ctx.step, args.input, weight.buffer, partials ?? args.output], `${label}.matmul`);
  const reduce = partials ? ctx.pipeline('linear_matmul', matmulSource, { ...out, REDUCE: true }) : null;
  const reduceGroup = reduce && partials ? ctx.bindGroup(reduce, [ctx.step, partials, args.output], `${label}.matmul_reduce`) : null;
  return (pass: GPUComputePassEncoder, rows: number) => {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(tileGridX, tileGridY, Math.ceil(rows / MATMUL_TILE.TILE_T) * splits);
    if (reduce && reduceGroup) {
      pass.setPipeline(reduce);
      pass.setBindGroup(0, reduceGroup);
      pass.dispatchWorkgroups(Math.ceil(partN / 256), rows);
    }
  };
}

/**
 * Defines of linear_packed.wgsl for a [N or 2N, K] weight under the packed layout `shape`; `out`: its outputs'
 * place in rows of y (default: the whole row, N wide).
 */
export function packedDefines(shape: PackedMatvecShape, k: number, n: number, weight: GpuWeight, rowGridX: number,
  swiglu: boolean, lastRow: boolean, out = { stride: n, offset: 0 }): Defines {
  return {
    K: k, N: n, OUT_STRIDE: out.stride, OUT_OFFSET: out.offset, ...weightDefines(weight), ...shape,
    ROW_GRID_X: rowGridX, SWIGLU: swiglu, LAST_ROW: lastRow, SUMS: swiglu ? 2 : 1, ...packedReduceDefines(shape, weight.dtype),
  };
}

/** How many rows of `width` f32 values `buffer` holds; throws when not even one. */
export function rowsFitting(kernel: string, what: string, buffer: GPUBuffer, width: number): number {
  const rows = Math.floor(buffer.size / (width * 4));
  if (rows < 1) throw new Error(`${kernel}: ${what} buffer of ${buffer.size} bytes holds no row of ${width} f32`);
  return rows;
}

export function checkRows(kernel: string, rows: number, maxRows: number): void {
  if (!Number.isInteger(rows) || rows < 0 || rows > maxRows) {
    throw new Error(`${kernel}: rows=${rows} but the buffers hold at most ${maxRows} rows`);
  }
}

/** Spreads `groups` workgroups over (x, y) with x <= 65535 (WebGPU's per-dimension dispatch limit). */
export function foldGrid(kernel: string, groups: number): [number, number] {
  const x = Math.min(groups, MAX_GRID);
  const y = Math.ceil(groups / x);
  if (y > MAX_GRID) throw new Error(`${kernel}: ${groups} workgroups exceed a 65535 x 65535 grid`);
  return [x, y];
}
