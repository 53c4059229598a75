// Plain float64 CPU reference of every DeepSeek operation, the ground truth GPU kernels are tested against.
// All arrays are row-major; inputs are any `ArrayLike<number>` (Float32Array weights, Float64Array activations),
// outputs are fresh Float64Arrays unless the function says it works in place. Nothing here is fast on purpose:
// one loop per formula of shared/docs/deepseek-math.md, so a reader can check it line by line.
// This file only gathers them: ops-core (elementwise, norms, RoPE), ops-mla (attention), ops-indexer (DSA),
// ops-routing (MoE router). Kernel tests import everything from `tests/reference/ops` (a re-export of this file).

export {
  argmax,
  embedding,
  layerNorm,
  linear,
  rmsNorm,
  ropeAdjacent,
  ropeHalf,
  silu,
  softmax,
  swiglu,
  xAsInt8Chunks,
} from './ops-core';
export { mlaAttentionAbsorbed, mlaAttentionNaive } from './ops-mla';
export type { MlaAttentionArgs } from './ops-mla';
export { indexerScores, topkSelect } from './ops-indexer';
export type { IndexerScoreArgs } from './ops-indexer';
export { routeExperts } from './ops-routing';
export type { ExpertRoute } from './ops-routing';

