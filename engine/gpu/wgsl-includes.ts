// The shared WGSL snippets that kernels pull in with `#include "name"`.
import indexerKeyRow from '../../shaders/common/indexer_key_row.wgsl';
import indexerQuery from '../../shaders/common/indexer_query.wgsl';
import inputNorm from '../../shaders/common/input_norm.wgsl';
import laneReduce from '../../shaders/common/lane_reduce.wgsl';
import matmulTile from '../../shaders/common/matmul_tile.wgsl';
import mlaKeys from '../../shaders/common/mla_keys.wgsl';
import mlaRope from '../../shaders/common/mla_rope.wgsl';
import mlaShareWeights from '../../shaders/common/mla_share_weights.wgsl';
import mlaShares from '../../shaders/common/mla_shares.wgsl';
import packedChunk from '../../shaders/common/packed_chunk.wgsl';
import rowDot from '../../shaders/common/row_dot.wgsl';
import step from '../../shaders/common/step.wgsl';
import weights from '../../shaders/common/weights.wgsl';
import workgroupSum from '../../shaders/common/workgroup_sum.wgsl';

export const WGSL_INCLUDES: Record<string, string> = {
  indexer_key_row: indexerKeyRow,
  indexer_query: indexerQuery,
  input_norm: inputNorm,
  lane_reduce: laneReduce,
  matmul_tile: matmulTile,
  mla_keys: mlaKeys,
  mla_rope: mlaRope,
  mla_share_weights: mlaShareWeights,
  mla_shares: mlaShares,
  packed_chunk: packedChunk,
  row_dot: rowDot,
  step,
  weights,
  workgroup_sum: workgroupSum,
};
