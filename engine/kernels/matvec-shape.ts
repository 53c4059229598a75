// How the matrix-vector kernels (linear.wgsl, linear_experts.wgsl) spread a row over threads, per adapter kind.
// On a GPU a row's dot product is shared by THREADS_PER_ROW lanes (coalesced reads of each weight row, then a
// shared-memory reduction). On a CPU adapter (SwiftShader, the CI's WebGPU) every workgroup barrier switches
// between all of the workgroup's invocations in software, which made a decode step of the tiny fixtures take about
// a second; there one invocation owns a whole row and no reduction runs (5-10x faster decode there).
// Steps of several token rows (prefill) likewise: GPUs run the tiled matmul (weights staged in shared memory, shared
// by 32 tokens); CPU adapters run the matrix-vector kernel once per token row (workgroup_id.z), because the tiled
// kernel's two barriers per K slice over 256 invocations made it 10-100x slower per row there than matrix-vector
// (bench/prefill-cpu.ts; a row's weights stay in the CPU's caches between tokens anyway).
export interface MatvecShape {
  WG: number; // threads per workgroup
  THREADS_PER_ROW: number; // lanes sharing one output row (a power of two)
  ROWS_PER_WG: number; // WG / THREADS_PER_ROW
}

export type MatvecKind = 'gpu' | 'cpu';

/** The kernel linear.ts runs for a step of more than one token row. */
export type RowsKernel = 'matmul' | 'matvec';

export const ROWS_KERNELS: Readonly<Record<MatvecKind, RowsKernel>> = { gpu: 'matmul', cpu: 'matvec' };

export const MATVEC_SHAPES: Readonly<Record<MatvecKind, MatvecShape>> = {
  gpu: { WG: 256, THREADS_PER_ROW: 64, ROWS_PER_WG: 4 },
  cpu: { WG: 64, THREADS_PER_ROW: 1, ROWS_PER_WG: 64 },
};
