// Every weight the reference forward pass reads, loaded once from a TensorSource as Float32Array (the values
// exactly as the checkpoint defines them: BF16 widened, FP8 times its block scale in f32). The reference
// computes in float64 from these. Names are the Hub's per-tensor names (deepseek-math.md §2); shapes below use
// H, V, nH, dN, dR, dV, rQ, rKV, E, I, and for the V3.2 indexer nI heads of dI.

import type { ModelConfig } from '../config';
import type { TensorSource } from '../weights/tensor-source';

export interface SwiGluWeights {
  width: number; // intermediate width W
  gate: Float32Array; // [W, H]
  up: Float32Array; // [W, H]
  down: Float32Array; // [H, W]
}

export interface IndexerWeights {
  wqB: Float32Array; // [nI·dI, rQ]
  wk: Float32Array; // [dI, H]
  kNormWeight: Float32Array; // [dI]
  kNormBias: Float32Array; // [dI]
  weightsProj: Float32Array; // [nI, H]
}

export interface AttentionWeights {
  qProj: Float32Array | null; // [nH·(dN+dR), H] when rQ is null (V2-Lite)
  qAProj: Float32Array | null; // [rQ, H]
  qANorm: Float32Array | null; // [rQ]
  qBProj: Float32Array | null; // [nH·(dN+dR), rQ]
  kvAProj: Float32Array; // [rKV+dR, H]: latent rows first, then the shared RoPE key
  kvANorm: Float32Array; // [rKV]
  kvBProj: Float32Array; // [nH·(dN+dV), rKV]: per head W_UK then W_UV
  oProj: Float32Array; // [H, nH·dV]
  indexer: IndexerWeights | null; // V3.2 only
}

export interface MoeWeights {
  router: Float32Array; // [E, H]
  scoreBias: Float32Array | null; // [E] e_score_correction_bias (V3/V3.2)
  routedExperts: SwiGluWeights[]; // E experts of width I
  sharedExperts: SwiGluWeights | null; // width nShared·I
}

export interface LayerWeights {
  inputNorm: Float32Array; // [H]
  postAttentionNorm: Float32Array; // [H]
  attention: AttentionWeights;
  denseFfn: SwiGluWeights | null; // layers < firstKDense
  moe: MoeWeights | null; // the other layers
}

export interface ModelWeights {
  embedTokens: Float32Array; // [V, H]
  layers: LayerWeights[];
  finalNorm: Float32Array; // [H]
  lmHead: Float32Array; // [V, H]
}

async function loadSwiGlu(source: TensorSource, prefix: string, width: number): Promise<SwiGluWeights> {
  return {
    width,
    gate: await source.readF32(`${prefix}.gate_proj.weight`),
    up: await source.readF32(`${prefix}.up_proj.weight`),
    down: await source.readF32(`${prefix}.down_proj.weight`),
  };
}

async function loadAttention(source: TensorSource, config: ModelConfig, prefix: string): Promise<AttentionWeights> {
  const read = (name: string) => source.readF32(`${prefix}.${name}`);
  const lora = config.qLoraRank !== null;
  let indexer: IndexerWeights | null = null;
  if (config.indexer) {
    indexer = {
      wqB: await read('indexer.wq_b.weight'),
      wk: await read('indexer.wk.weight'),
      kNormWeight: await read('indexer.k_norm.weight'),
      kNormBias: await read('indexer.k_norm.bias'),
      weightsProj: await read('indexer.weights_proj.weight'),
    };
  }
  return {
    qProj: lora ? null : await read('q_proj.weight'),
    qAProj: lora ? await read('q_a_proj.weight') : null,
    qANorm: lora ? await read('q_a_layernorm.weight') : null,
    qBProj: lora ? await read('q_b_proj.weight') : null,
    kvAProj: await read('kv_a_proj_with_mqa.weight'),
    kvANorm: await read('kv_a_layernorm.weight'),
    kvBProj: await read('kv_b_proj.weight'),
    oProj: await read('o_proj.weight'),
    indexer,
  };
}

/** The MoE weights of one layer; `routedExperts` stays empty when `withRoutedExperts` is false (layer streaming
 *  reads each expert on its own when it is needed). */
async function loadMoe(
  source: TensorSource,
  config: ModelConfig,
  prefix: string,
  withRoutedExperts: boolean,
): Promise<MoeWeights> {
  const routedExperts: SwiGluWeights[] = [];
  for (let e = 0; withRoutedExperts && e < config.nRoutedExperts; e++) {
    routedExperts.push(await loadRoutedExpert(source, config, prefix, e));
  }
  const sharedWidth = config.nSharedExperts * config.moeIntermediateSize;
  return {
    router: await source.readF32(`${prefix}.gate.weight`),
    scoreBias: config.scoring === 'sigmoid' ? await source.readF32(`${prefix}.gate.e_score_correction_bias`) : null,
    routedExperts,
    sharedExperts: sharedWidth > 0 ? await loadSwiGlu(source, `${prefix}.shared_experts`, sharedWidth) : null,
  };
}

/** Routed expert `expert` of the MoE whose prefix is `model.layers.N.mlp`. */
export function loadRoutedExpert(
  source: TensorSource,
  config: ModelConfig,
  mlpPrefix: string,
  expert: number,
): Promise<SwiGluWeights> {
  return loadSwiGlu(source, `${mlpPrefix}.experts.${expert}`, config.moeIntermediateSize);
}

/** Layer `l`'s weights (its routed experts only when `withRoutedExperts`, the default). */
export async function loadLayerWeights(source: TensorSource, l: number, withRoutedExperts = true): Promise<LayerWeights> {
  const config = source.config;
  const prefix = `model.layers.${l}`;
  const dense = l < config.firstKDense;
  return {
    inputNorm: await source.readF32(`${prefix}.input_layernorm.weight`),
    postAttentionNorm: await source.readF32(`${prefix}.post_attention_layernorm.weight`),
    attention: await loadAttention(source, config, `${prefix}.self_attn`),
    denseFfn: dense ? await loadSwiGlu(source, `${prefix}.mlp`, config.intermediateSize) : null,
    moe: dense ? null : await loadMoe(source, config, `${prefix}.mlp`, withRoutedExperts),
  };
}

export async function loadModelWeights(source: TensorSource): Promise<ModelWeights> {
  const layers: LayerWeights[] = [];
  for (let l = 0; l < source.config.numLayers; l++) layers.push(await loadLayerWeights(source, l));
  return {
    embedTokens: await source.readF32('model.embed_tokens.weight'),
    layers,
    finalNorm: await source.readF32('model.norm.weight'),
    lmHead: await source.readF32('lm_head.weight'),
  };
}
