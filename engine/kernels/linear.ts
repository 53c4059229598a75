// Dense projection drivers (shaders/linear.wgsl): `linear` (y = x·Wᵀ, W [N, K]) and `linearSwiGLU` (the fused
// gate + up + SiLU of a SwiGLU FFN, W [2N, K] with gate rows first). Weights f32 or packed f16/q8/q4 (GpuWeight). A
// step of one token row runs the matrix-vector kernel (memory-bound decode; threads per row by adapter kind,
// matvec-shape.ts); more rows run the tiled matmul (32 tokens x 64 outputs per 16x16 workgroup) on GPUs, and the
// matrix-vector kernel once per row (workgroup_id.z) on CPU adapters (ctx.rowsKernel, matvec-shape.ts). The
// matrix-vector kernel is linear_packed.wgsl (16-byte chunks, ctx.packedShapeFor('linear')) for f16/q8/q4 rows whose
// K is a multiple of a chunk, linear.wgsl's element-pair one otherwise. Pipelines and bind groups are built once;
// `encode` only picks one from `rows` and dispatches. `lastRow` computes only the step's last row (matrix-vector at
// t = rows - 1): the lm_head when only the next token matters.
// Also exports the buffer validation and grid folding that the expert kernels (experts.ts) share; weight checks
// and storage-format defines live in weight-args.ts.
import source from '../../shaders/linear.wgsl';
import packedSource from '../../shaders/linear_packed.wgsl';
import type { GpuContext, KernelCall } from '../gpu/context';
import type { Defines } from '../gpu/preprocess';
import type { GpuWeight } from '../weights/gpu-weight';
import { packedRowsPerWorkgroup, type PackedMatvecShape } from './matvec-shape';
import { checkWeight, packedChunkFits, weightDefines } from './weight-args';

export { checkWeight };

/** Matmul tile: TILE_T tokens x TILE_N outputs per 16x16 workgroup, K staged TILE_K at a time (6 KiB shared). */
export const MATMUL_TILE = { TILE_T: 32, TILE_N: 64, TILE_K: 16 } as const;

const MAX_GRID = 65535;

export interface LinearArgs {
  input: GPUBuffer; // [T, K] f32
  weight: GpuWeight; // [N, K] (linear) or [2N, K] gate rows then up rows (linearSwiGLU)
  output: GPUBuffer; // [T, N] f32
  /** Only output row rows - 1 (from input row rows - 1), whatever the step's rows; the other rows are untouched. */
  lastRow?: boolean;
}

export function linear(ctx: GpuContext, args: LinearArgs): KernelCall {
  return buildLinear(ctx, 'linear', args, false);
}

export function linearSwiGLU(ctx: GpuContext, args: LinearArgs): KernelCall {
  return buildLinear(ctx, 'linear_swiglu', args, true);
}

function buildLinear(ctx: GpuContext, name: string, args: LinearArgs, swiglu: boolean): KernelCall {
  const [weightRows, k] = checkWeight(name, args.weight, 2);
  if (swiglu && weightRows % 2 !== 0) throw new Error(`${name}: weight has ${weightRows} rows; gate + up needs an even count`);
  const n = swiglu ? weightRows / 2 : weightRows;
  const maxRows = Math.min(rowsFitting(name, 'input', args.input, k), rowsFitting(name, 'output', args.output, n));

  const packedShape = packedChunkFits(args.weight) ? ctx.packedShapeFor('linear') : null;
  const rowsPerGroup = packedShape ? packedRowsPerWorkgroup(packedShape) : ctx.matvec.ROWS_PER_WG;
  const [rowGridX, rowGridY] = foldGrid(name, Math.ceil(n / rowsPerGroup));
  const [tileGridX, tileGridY] = foldGrid(name, Math.ceil(n / MATMUL_TILE.TILE_N));
  const defines: Defines = {
    K: k, N: n, ...weightDefines(args.weight), ...ctx.matvec, ...MATMUL_TILE,
    ROW_GRID_X: rowGridX, TILE_GRID_X: tileGridX, SWIGLU: swiglu, LAST_ROW: !!args.lastRow,
  };
  const bindings = [ctx.step, args.input, args.weight.buffer, args.output];
  const matvec = packedShape
    ? ctx.pipeline('linear_packed', packedSource, packedDefines(packedShape, k, n, args.weight, rowGridX, swiglu, !!args.lastRow))
    : ctx.pipeline('linear', source, defines, 'matvec');
  // The packed kernel reads q8/q4 scales through a second, u32-typed binding of the same buffer.
  const packedBindings = args.weight.dtype === 'f16' ? bindings : [...bindings, args.weight.buffer];
  const matvecGroup = ctx.bindGroup(matvec, packedShape ? packedBindings : bindings, `${name}.matvec`);
  const perRow = (pass: GPUComputePassEncoder, rows: number) => {
    pass.setPipeline(matvec);
    pass.setBindGroup(0, matvecGroup);
    pass.dispatchWorkgroups(rowGridX, rowGridY, rows);
  };
  if (args.lastRow) {
    return {
      name: `${name}.last_row`,
      encode(pass, rows) {
        if (rows === 0) return;
        checkRows(name, rows, maxRows);
        perRow(pass, 1);
      },
    };
  }
  const tiled = ctx.rowsKernel === 'matmul';
  const matmul = tiled ? ctx.pipeline('linear', source, defines, 'matmul') : null;
  const matmulGroup = matmul ? ctx.bindGroup(matmul, bindings, `${name}.matmul`) : null;

  return {
    name,
    encode(pass, rows) {
      if (rows === 0) return;
      checkRows(name, rows, maxRows);
      if (rows === 1 || !matmul || !matmulGroup) {
        perRow(pass, rows);
      } else {
        pass.setPipeline(matmul);
        pass.setBindGroup(0, matmulGroup);
        pass.dispatchWorkgroups(tileGridX, tileGridY, Math.ceil(rows / MATMUL_TILE.TILE_T));
      }
    },
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
