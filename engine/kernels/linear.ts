// Dense projection drivers (shaders/linear.wgsl): `linear` (y = x·Wᵀ, W [N, K]) and `linearSwiGLU` (the fused
// gate + up + SiLU of a SwiGLU FFN, W [2N, K] with gate rows first). Weights f32 or packed f16/q8/q4 (GpuWeight). A
// step of one token row runs the matrix-vector kernel (memory-bound decode; threads per row by adapter kind,
// matvec-shape.ts); more rows run the tiled matmul (64 tokens x 128 outputs per 256-thread workgroup) on GPUs, and the
// matrix-vector kernel once per row (workgroup_id.z) on CPU adapters (ctx.rowsKernel, matvec-shape.ts). The
// matrix-vector kernel is linear_packed.wgsl (16-byte chunks, ctx.packedShapeFor('linear')) for f16/q8/q4 rows whose
// K is a multiple of a chunk, linear.wgsl's element-pair one otherwise. Pipelines and bind groups are built once; `encode` only picks one from `rows` and dispatches. `lastRow`
// computes only the step's last row (matrix-vector at t = rows - 1): the lm_head when only the next token matters.
// A weight split across buffers by rows (engine/weights/split-weight.ts, tensors over the adapter's buffer limit,
// e.g. a large vocabulary's lm_head) runs one dispatch per part, each writing its slice of the output columns
// (OUT_OFFSET within rows of OUT_STRIDE); the results are the same as from one buffer.
// Also exports the buffer validation and grid folding that the expert kernels (experts.ts) share; weight checks
// and storage-format defines live in weight-args.ts.
import source from '../../shaders/linear.wgsl';
import packedSource from '../../shaders/linear_packed.wgsl';
import type { GpuContext, KernelCall } from '../gpu/context';
import type { Defines } from '../gpu/preprocess';
import { weightParts, type RowsWeight, type WeightPart } from '../weights/split-weight';
import type { GpuWeight } from '../weights/gpu-weight';
import { packedRowsPerWorkgroup, type PackedMatvecShape } from './matvec-shape';
import { checkWeight, packedChunkFits, weightDefines } from './weight-args';

export { checkWeight };

/**
 * Matmul tile (common/matmul_tile.wgsl): TILE_T tokens x 128 outputs (SwiGLU: 64 outputs, their gate and up rows)
 * per workgroup of 4·TILE_T threads, 4x8 per thread, K staged 16 at a time (12.5 KiB of workgroup memory).
 */
export const MATMUL_TILE = { TILE_T: 64 } as const;

/** Outputs one matmul workgroup covers. */
export function matmulTileOutputs(swiglu: boolean): number {
  return swiglu ? 64 : 128;
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
}

export function linear(ctx: GpuContext, args: LinearArgs): KernelCall {
  return buildLinear(ctx, 'linear', args, false);
}

export function linearSwiGLU(ctx: GpuContext, args: LinearArgs): KernelCall {
  return buildLinear(ctx, 'linear_swiglu', args, true);
}

function buildLinear(ctx: GpuContext, name: string, args: LinearArgs, swiglu: boolean): KernelCall {
  if (swiglu && args.accumulate) throw new Error(`${name}: accumulate is for plain projections, not SwiGLU`);
  const parts = weightParts(args.weight);
  const k = parts[0].weight.shape[1];
  const n = parts.reduce((sum, part) => sum + outputsOf(name, part, k, swiglu), 0);
  const expected = swiglu ? 2 * n : n;
  if (args.weight.shape[0] !== expected || args.weight.shape[1] !== k) {
    throw new Error(`${name}: weight parts hold [${expected}, ${k}] but the weight is [${args.weight.shape}]`);
  }
  const maxRows = Math.min(rowsFitting(name, 'input', args.input, k), rowsFitting(name, 'output', args.output, n));
  const calls = parts.map((part) => buildPart(ctx, name, args, swiglu, part, { k, n }));
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
function buildPart(ctx: GpuContext, name: string, args: LinearArgs, swiglu: boolean, part: WeightPart, dims: { k: number; n: number }) {
  const { weight, firstRow } = part;
  const partN = swiglu ? weight.shape[0] / 2 : weight.shape[0];
  const matvecShape = ctx.matvec;
  const packedShape = packedChunkFits(weight) ? ctx.packedShapeFor('linear') : null;
  const rowsPerGroup = packedShape ? packedRowsPerWorkgroup(packedShape) : matvecShape.ROWS_PER_WG;
  const [rowGridX, rowGridY] = foldGrid(name, Math.ceil(partN / rowsPerGroup));
  const [tileGridX, tileGridY] = foldGrid(name, Math.ceil(partN / matmulTileOutputs(swiglu)));
  const defines: Defines = {
    K: dims.k, N: partN, OUT_STRIDE: dims.n, OUT_OFFSET: firstRow, ...weightDefines(weight), ...matvecShape, ...MATMUL_TILE,
    ROW_GRID_X: rowGridX, TILE_GRID_X: tileGridX, SWIGLU: swiglu, LAST_ROW: !!args.lastRow, ACCUMULATE: !!args.accumulate,
  };
  const label = firstRow > 0 ? `${name}[${firstRow}:]` : name;
  const bindings = [ctx.step, args.input, weight.buffer, args.output];
  const matvec = packedShape
    ? ctx.pipeline('linear_packed', packedSource, {
      ...packedDefines(packedShape, dims.k, partN, weight, rowGridX, swiglu, !!args.lastRow, { stride: dims.n, offset: firstRow }),
      ACCUMULATE: !!args.accumulate,
    })
    : ctx.pipeline('linear', source, defines, 'matvec');
  // The packed kernel reads q8/q4 scales through a second, u32-typed binding of the same buffer.
  const packedBindings = weight.dtype === 'f16' ? bindings : [...bindings, weight.buffer];
  const matvecGroup = ctx.bindGroup(matvec, packedShape ? packedBindings : bindings, `${label}.matvec`);
  const tiled = !args.lastRow && ctx.rowsKernel === 'matmul';
  const matmul = tiled ? ctx.pipeline('linear', source, defines, 'matmul') : null;
  const matmulGroup = matmul ? ctx.bindGroup(matmul, bindings, `${label}.matmul`) : null;
  return (pass: GPUComputePassEncoder, rows: number) => {
    if (rows === 1 || args.lastRow || !matmul || !matmulGroup) {
      pass.setPipeline(matvec);
      pass.setBindGroup(0, matvecGroup);
      pass.dispatchWorkgroups(rowGridX, rowGridY, args.lastRow ? 1 : rows);
    } else {
      pass.setPipeline(matmul);
      pass.setBindGroup(0, matmulGroup);
      pass.dispatchWorkgroups(tileGridX, tileGridY, Math.ceil(rows / MATMUL_TILE.TILE_T));
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
    ROW_GRID_X: rowGridX, SWIGLU: swiglu, LAST_ROW: lastRow, SUMS: swiglu ? 2 : 1, SHARED_REDUCE: shape.LANES > 1,
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
