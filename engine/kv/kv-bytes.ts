// Bytes per token of a model's attention cache, from its ModelConfig alone. MLA caches per token and layer only the
// normalised latent c (rKV) and the rotated shared key kR (dR), plus for V3.2 the DSA indexer key (dI); that row is
// held in f32 on the GPU (engine/model/scratch.ts) and stored as f16 or int8 (engine/kv/row-encoding.ts: int8 adds
// one f32 scale per row part). For comparison, the expanded per-head keys and values a non-absorbed MLA (or a
// dense model of the same shape) would cache: nH × (dN + dR) key and nH × dV value values per layer, in f16; the
// indexer key is not part of that figure.
import type { ModelConfig } from '../config';

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
  const { numLayers: layers, kvLoraRank: rKV, qkRopeHeadDim: dR, qkNopeHeadDim: dN, vHeadDim: dV, numHeads: nH } = config;
  const indexerWidth = config.indexer?.headDim ?? 0;
  const latentValuesPerLayer = rKV + dR + indexerWidth;
  const rowPartsPerLayer = indexerWidth > 0 ? 3 : 2;
  return {
    latentValuesPerLayer,
    rowPartsPerLayer,
    latentF32: layers * latentValuesPerLayer * 4,
    latentF16: layers * latentValuesPerLayer * 2,
    latentInt8: layers * (latentValuesPerLayer + rowPartsPerLayer * INT8_SCALE_BYTES),
    expandedKvF16: layers * nH * (dN + dR + dV) * 2,
  };
}
