// How the matrix-vector kernels spread a row over threads, per adapter kind.
// Two kernel families read weights during decode:
//  * the packed-chunk kernels (shaders/linear_packed.wgsl, experts_packed.wgsl) for f16/q8/q4 rows whose length K
//    is a multiple of a 16-byte chunk (8 f16, 16 q8 or 32 q4 elements; every DeepSeek projection). LANES threads
//    share a row, each reading one vec4<u32> chunk per step, and every thread owns ROWS_PER_THREAD rows, so the
//    x values it loads for a chunk serve that many rows (PackedMatvecShape);
//  * the element-pair kernels (linear.wgsl, linear_experts.wgsl) for everything else (f32, odd K, short groups):
//    THREADS_PER_ROW lanes per row, one u32 word per lane per step (MatvecShape).
// On a GPU a row's dot product is shared by several lanes (coalesced reads of each weight row, then a
// shared-memory reduction). On a CPU adapter (SwiftShader, the CI's WebGPU) every workgroup barrier switches
// between all of the workgroup's invocations in software, which made a decode step of the tiny fixtures take about
// a second; there one invocation owns a whole row and no reduction runs (5-10x faster decode there).
// Steps of several token rows (prefill) likewise: GPUs run the tiled matmul (weights staged in shared memory, shared
// by 64 tokens; the routed experts grouped by expert, experts-grouped.ts); CPU adapters run the matrix-vector kernel once per token row (workgroup_id.z), because the tiled
// kernel's two barriers per K slice over 256 invocations made it 10-100x slower per row there than matrix-vector
// (bench/prefill-cpu.ts; a row's weights stay in the CPU's caches between tokens anyway).
export interface MatvecShape {
  WG: number; // threads per workgroup
  THREADS_PER_ROW: number; // lanes sharing one output row (a power of two)
  ROWS_PER_WG: number; // WG / THREADS_PER_ROW
}

/** Thread layout of the packed-chunk kernels: WG threads = (WG / LANES) row slots x LANES lanes. */
export interface PackedMatvecShape {
  WG: number; // threads per workgroup (a multiple of LANES)
  LANES: number; // threads sharing one row; lane l reads chunks l, l + LANES, ...
  ROWS_PER_THREAD: number; // rows each slot owns: a workgroup covers (WG / LANES) * ROWS_PER_THREAD rows
}

export type MatvecKind = 'gpu' | 'cpu';

/** The kernel linear.ts runs for a step of more than one token row. */
export type RowsKernel = 'matmul' | 'matvec';

export const ROWS_KERNELS: Readonly<Record<MatvecKind, RowsKernel>> = { gpu: 'matmul', cpu: 'matvec' };

/**
 * Token rows per prefill chunk by default (ForwardOptions.maxRows), by the kernel that runs them: 256 for the tiled
 * matmul (a 2,048-token prompt of v2-lite-r16 prefilled on the H100 at 2,319 tok/s against 1,963 with 128-row chunks
 * and 2,434 with 512, same session: bench/results/v2-prefill-rows-h100.txt; 256 keeps the scratch buffers at half
 * of 512's for GPUs with less memory), 64 for matrix-vector per row (CPU adapters).
 */
export const PREFILL_ROWS: Readonly<Record<RowsKernel, number>> = { matmul: 256, matvec: 64 };

export const MATVEC_SHAPES: Readonly<Record<MatvecKind, MatvecShape>> = {
  gpu: { WG: 256, THREADS_PER_ROW: 64, ROWS_PER_WG: 4 },
  cpu: { WG: 64, THREADS_PER_ROW: 1, ROWS_PER_WG: 64 },
};

/**
 * GPU: a row is one 32-lane warp's work (32 chunks = 512 contiguous bytes per step), 2 rows per thread so each x
 * chunk loaded serves 2 rows, 8 rows per 128-thread workgroup: a 2048-wide q4 row (64 chunks) is 2 steps per lane,
 * and the 3072-row q_proj is 384 workgroups (about 3 per SM of an H100). bench/matvec-bandwidth.ts sweeps the
 * alternatives on the real shapes. CPU: one invocation per row, as for MatvecShape.
 */
export const PACKED_MATVEC_SHAPES: Readonly<Record<MatvecKind, PackedMatvecShape>> = {
  gpu: { WG: 128, LANES: 32, ROWS_PER_THREAD: 2 },
  cpu: { WG: 64, LANES: 1, ROWS_PER_THREAD: 1 },
};

/**
 * Token rows each thread of the tiled matmuls owns (common/matmul_tile.wgsl; linear.ts's prefill matmul and the
 * grouped experts): 4 (4x8 outputs a thread, 256 threads for a 64-row tile; measured on the H100) or 8 (8x8 outputs,
 * 128 threads: two thirds of the shared-memory reads per FMA; correct on every test, not yet measured on a GPU).
 */
export type MatmulThreadRows = 4 | 8;
export const MATMUL_THREAD_ROWS: MatmulThreadRows = 4;

/** The packed-chunk kernels, for per-kernel layouts (a decode projection and the routed experts may differ). */
export type PackedKernel = 'linear' | 'experts_swiglu' | 'experts_down';

/**
 * Per-kernel layouts that replace PACKED_MATVEC_SHAPES[kind] for one kernel, from bench/matvec-bandwidth.ts on the
 * H100 (2026-12-07, x staged in workgroup memory; GPU timestamps, weights read from memory): the projections take
 * 256x32x2 (lm_head [102400, 2048]: q4 57% of the streaming ceiling against 42% at 128x32x2, q8 83% against 65%;
 * q_proj alike) and the routed experts' gate_up 128x16x2 (q4 42% against 36%). The routed experts' down takes
 * 128x32x1, re-measured in the whole model once x came as int8 codes (stop 20, ab-stop20-h100.txt: v2-lite-r16 q4
 * decode at 2,048 2.76 / 2.77 ms a token against 2.80 / 2.80 at 256x64x2, the layout the lone-kernel bench had
 * picked before; its 6 experts' 1408-wide rows leave few chunks per lane; why one row a thread wins there was
 * not measured).
 */
export const PACKED_KERNEL_SHAPES: Readonly<Record<MatvecKind, Partial<Record<PackedKernel, PackedMatvecShape>>>> = {
  gpu: {
    linear: { WG: 256, LANES: 32, ROWS_PER_THREAD: 2 },
    experts_swiglu: { WG: 128, LANES: 16, ROWS_PER_THREAD: 2 },
    experts_down: { WG: 128, LANES: 32, ROWS_PER_THREAD: 1 },
  },
  cpu: {},
};

/**
 * Reduction and x-format defines of the packed kernels: SHARED_REDUCE where lanes share a row (the GPU layouts:
 * x staged in workgroup memory too), and with it X_INT8 for q4 weights: x as int8 codes with one scale per
 * 32-element chunk, products as integer dot products (dot4I8Packed) of the nibbles with the codes.
 * Dequantising a nibble to f32 and multiplying takes ~4 instructions an element, which held q4 products near 57% of
 * the H100's memory bandwidth (q8, at half the instructions a byte, reached 83%); four int8 products are one.
 * The codes round x to 1/254 of its chunk's largest |x| (as llama.cpp's q8_1 activations for its q4 products).
 */
export function packedReduceDefines(shape: PackedMatvecShape, dtype: string): { SHARED_REDUCE: boolean; X_INT8: boolean } {
  const shared = shape.LANES > 1;
  return { SHARED_REDUCE: shared, X_INT8: shared && dtype === 'q4' };
}

/** Rows one workgroup of `shape` covers. */
export function packedRowsPerWorkgroup(shape: PackedMatvecShape): number {
  return (shape.WG / shape.LANES) * shape.ROWS_PER_THREAD;
}

/** Throws unless `shape` is a usable packed layout (LANES a power of two dividing WG; positive integers). */
export function checkPackedShape(shape: PackedMatvecShape): void {
  const { WG, LANES, ROWS_PER_THREAD } = shape;
  const ok = [WG, LANES, ROWS_PER_THREAD].every((v) => Number.isInteger(v) && v > 0) && WG % LANES === 0
    && (LANES & (LANES - 1)) === 0;
  if (!ok) throw new Error(`packed matvec shape ${JSON.stringify(shape)}: WG, LANES and ROWS_PER_THREAD must be positive integers, LANES a power of two dividing WG`);
}

/** The device limits that bound a workgroup's thread count. */
export type WorkgroupLimits = Pick<GPUSupportedLimits, 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupSizeX'>;

/**
 * `wg` (a power of two) halved until the device allows it: the single-workgroup kernels (routing, argmax) ask for up
 * to 1024 threads on GPUs, where WebGPU only promises 256 (SwiftShader's limit).
 */
export function cappedWorkgroupSize(wg: number, limits: WorkgroupLimits): number {
  let size = wg;
  while (size > 64 && (size > limits.maxComputeInvocationsPerWorkgroup || size > limits.maxComputeWorkgroupSizeX)) size /= 2;
  return size;
}
