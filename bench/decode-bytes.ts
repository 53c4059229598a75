// Bytes one decode token reads, from the sizes of the buffers the forward pass actually binds (ModelWeights and the
// latent caches), per attention mode:
//   weights  one embedding row; per layer the norms, the attention projections (q_proj or q_a + q_b, kv_a, the whole
//            kv_b_proj: the absorb reads its W_UK rows and the value up-projection its W_UV rows, o_proj), the
//            indexer's wk;weights_proj (both modes) and wq_b (sparse only), the dense FFN or the router, the shared
//            experts and top-k of the E routed experts (k/E of the stacked buffers); the final norm and lm_head.
//   kv       per layer, dense: every cached latent row [ctx, rKV + dR] f32; sparse (once ctx > index_topk): every
//            indexer key row [ctx, dI] f32 to score, then index_topk latent rows. Below index_topk sparse is dense.
import type { ModelConfig } from '../engine/config';
import type { AttentionMode } from '../engine/model/forward';
import type { LayerWeights, ModelWeights } from '../engine/model/weights';
import { weightBytes, type RowsWeight } from '../engine/weights/split-weight';

const size = (w: RowsWeight | GPUBuffer | null | undefined): number =>
  (!w ? 0 : 'shape' in w ? weightBytes(w) : w.size);

function layerWeightBytes(config: ModelConfig, layer: LayerWeights, sparse: boolean): number {
  let bytes = size(layer.inputNorm) + size(layer.postAttentionNorm);
  bytes += size(layer.queryProj) + size(layer.queryDown) + size(layer.queryNorm) + size(layer.queryUp);
  bytes += size(layer.kvDown) + size(layer.kvNorm) + size(layer.kvUp) + size(layer.outProj);
  if (layer.indexer) {
    bytes += size(layer.indexer.keyAndWeights) + size(layer.indexer.keyNormWeight) + size(layer.indexer.keyNormBias);
    if (sparse) bytes += size(layer.indexer.queryUp);
  }
  if (layer.dense) bytes += size(layer.dense.gateUp) + size(layer.dense.down);
  if (layer.moe) {
    const { moe } = layer;
    bytes += size(moe.router) + size(moe.correctionBias);
    if (moe.shared) bytes += size(moe.shared.gateUp) + size(moe.shared.down);
    const share = config.numExpertsPerTok / config.nRoutedExperts;
    bytes += share * (size(moe.experts.gateUp) + size(moe.experts.down));
  }
  return bytes;
}

/** Whether a decode step at cache length `context` runs the DSA selection (as DeepseekForward decides). */
export function sparseAt(config: ModelConfig, mode: AttentionMode, context: number): boolean {
  return mode === 'sparse' && config.indexer !== null && context > config.indexer.topk;
}

/** Weight bytes read by one decode token. */
export function decodeWeightBytes(config: ModelConfig, weights: ModelWeights, sparse: boolean): number {
  const embeddingRow = size(weights.embedTokens) / config.vocabSize;
  const layers = weights.layers.reduce((sum, layer) => sum + layerWeightBytes(config, layer, sparse), 0);
  return Math.round(embeddingRow + layers + size(weights.finalNorm) + size(weights.lmHead));
}

/** Latent-cache (and indexer-key) bytes read by one decode token attending over `context` cached tokens. */
export function decodeKvBytes(config: ModelConfig, context: number, sparse: boolean): number {
  const latentRow = (config.kvLoraRank + config.qkRopeHeadDim) * 4;
  const perLayer = sparse && config.indexer
    ? context * config.indexer.headDim * 4 + Math.min(context, config.indexer.topk) * latentRow
    : context * latentRow;
  return perLayer * config.numLayers;
}
