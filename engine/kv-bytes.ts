// Bytes of attention cache per token of context, for the perf panel's comparison: what this engine's latent cache
// holds (MLA keeps per layer only the normalised KV latent c [rKV] and the shared rotated key kR [dR], plus the
// DSA indexer key [dI] on V3.2, all f32) against what a plain multi-head cache would hold for the same model
// (per layer and head the full key [dN + dR] and value [dV], at f16). Multiply either by the tokens in context.
import type { ModelConfig } from './config';

export const LATENT_CACHE_BYTES_PER_ELEMENT = 4; // f32, as engine/model/scratch.ts allocates it
export const FULL_KV_BYTES_PER_ELEMENT = 2; // f16 per-head K/V, the usual baseline

/** Latent cache bytes per token over all layers: layers × (rKV + dR [+ dI]) × 4. */
export function latentBytesPerToken(config: ModelConfig): number {
  const indexerKey = config.indexer ? config.indexer.headDim : 0;
  return config.numLayers * (config.kvLoraRank + config.qkRopeHeadDim + indexerKey) * LATENT_CACHE_BYTES_PER_ELEMENT;
}

/** Per-head K and V bytes per token over all layers: layers × heads × (qk_head_dim + v_head_dim) × 2. */
export function fullKvBytesPerToken(config: ModelConfig): number {
  const qkHeadDim = config.qkNopeHeadDim + config.qkRopeHeadDim;
  return config.numLayers * config.numHeads * (qkHeadDim + config.vHeadDim) * FULL_KV_BYTES_PER_ELEMENT;
}
