// Bytes per token of a model's attention cache in every form engine/kv keeps it, from its ModelConfig alone. MLA
// caches per token and layer only the normalised latent c (rKV) and the rotated shared key kR (dR), plus for V3.2
// the DSA indexer key (dI). The GPU figure (f32, engine/model/scratch.ts) and the expanded per-head K/V figure
// (nH × (dN + dR) key and nH × dV value values per layer in f16, indexer key not counted) are engine/kv-bytes.ts's,
// the perf panel's; this adds the stored encodings, f16 and int8 (engine/kv/row-encoding.ts: one f32 scale per
// row part).
import type { ModelConfig } from '../config';
import { fullKvBytesPerToken, latentBytesPerToken } from '../kv-bytes';

export interface KvBytesPerToken {
  /** Cached values per token and layer: rKV + dR (+ dI). */
  latentValuesPerLayer: number;
  /** Row parts per token and layer (c, kR, and the indexer key): one int8 scale each. */
  rowPartsPerLayer: number;
  latentF32: number; // what the GPU holds, all layers
  latentF16: number; // stored f16
  latentInt8: number; // stored int8 codes + one f32 scale per row part
  expandedKvF16: number; // per-head K and V at f16, all layers
}

/** Bytes of one int8 row part's scale (an f32). */
export const INT8_SCALE_BYTES = 4;

export function kvBytesPerToken(config: ModelConfig): KvBytesPerToken {
  const { numLayers: layers, kvLoraRank: rKV, qkRopeHeadDim: dR } = config;
  const indexerWidth = config.indexer?.headDim ?? 0;
  const latentValuesPerLayer = rKV + dR + indexerWidth;
  const rowPartsPerLayer = indexerWidth > 0 ? 3 : 2;
  return {
    latentValuesPerLayer,
    rowPartsPerLayer,
    latentF32: latentBytesPerToken(config),
    latentF16: layers * latentValuesPerLayer * 2,
    latentInt8: layers * (latentValuesPerLayer + rowPartsPerLayer * INT8_SCALE_BYTES),
    expandedKvF16: fullKvBytesPerToken(config),
  };
}
