// One normalised configuration for DeepSeek V2 / V3 / V3.2 checkpoints. `parseModelConfig` reads both config
// styles (the Hub's `rope_theta` + `rope_scaling`, and transformers 5's `rope_parameters`) and applies what
// transformers 5.17 actually honours (see shared/docs/deepseek-math.md §1.2), so the engine never looks at the raw
// JSON again. Shapes in comments use: H = hiddenSize, nH = numHeads, dN/dR/dV = qk nope/rope and v head dims,
// rKV = kvLoraRank, rQ = qLoraRank, E = nRoutedExperts, I = moeIntermediateSize.

export type ModelFamily = 'deepseek_v2' | 'deepseek_v3' | 'deepseek_v32';

export interface RopeConfig {
  theta: number;
  /** 'default' = plain RoPE; 'yarn' = YaRN-scaled frequencies and softmax-scale correction. */
  type: 'default' | 'yarn';
  factor: number; // s (1 when default)
  originalMaxPositions: number; // L0
  betaFast: number; // default 32
  betaSlow: number; // default 1
  mscale: number; // 0 when absent
  mscaleAllDim: number; // 0 when absent
}

export interface IndexerConfig {
  nHeads: number; // index_n_heads
  headDim: number; // index_head_dim (the first dR dims are rotated, half-split pairs)
  topk: number; // index_topk
}

export interface ModelConfig {
  family: ModelFamily;
  vocabSize: number; // V: rows of embed_tokens and lm_head
  hiddenSize: number; // H
  intermediateSize: number; // dense SwiGLU width (layers < firstKDense)
  moeIntermediateSize: number; // I: one routed expert's width; shared experts are nShared × I wide
  numLayers: number; // decoder layers transformers uses (the MTP layer is ignored)
  firstKDense: number; // layers 0..firstKDense-1 are dense, the rest MoE
  numHeads: number; // nH
  qLoraRank: number | null; // rQ; null = plain q_proj (V2-Lite)
  kvLoraRank: number; // rKV
  qkNopeHeadDim: number; // dN
  qkRopeHeadDim: number; // dR
  vHeadDim: number; // dV
  nRoutedExperts: number; // E
  nSharedExperts: number;
  numExpertsPerTok: number; // k
  nGroup: number;
  topkGroup: number;
  /** V2: softmax router; V3/V3.2: sigmoid router with e_score_correction_bias. */
  scoring: 'softmax' | 'sigmoid';
  /** V2 only: 'greedy' or 'group_limited_greedy' (group score = max prob). V3/V3.2 always group top-2-sum. */
  topkMethod: 'greedy' | 'group_limited_greedy' | 'noaux_tc';
  /** Effective value: V2 ignores it in transformers 5.17, so it is false there whatever the file says. */
  normTopkProb: boolean;
  routedScalingFactor: number;
  rmsNormEps: number;
  maxPositionEmbeddings: number;
  rope: RopeConfig;
  indexer: IndexerConfig | null; // V3.2 only
  bosTokenId: number | null;
  eosTokenIds: number[];
}

export { parseModelConfig } from './config-parse';
