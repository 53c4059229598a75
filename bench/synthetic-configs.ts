// The benchmark's synthetic models, as Hugging Face config.json objects (transformers 5.17 field names, parsed by
// the engine's own parseModelConfig, so the bench runs exactly the normalised config a real checkpoint would give):
//   v2-lite-r16   DeepSeek-V2-Lite's dimensions (its published config.json: 27 layers, hidden 2048, 16 heads,
//                 qk_nope 128 / rope 64 / v 128, kv_lora_rank 512, no query LoRA, dense FFN 10944 in layer 0,
//                 moe_intermediate 1408, 2 shared experts, top-6 softmax routing, vocab 102400, YaRN x40) with 16
//                 routed experts instead of 64 (the bytes a token reads do not depend on E, only on top-k).
//   v32-lite-r16  the same as a V3.2 model: query LoRA rank 768, sigmoid routing, a DSA indexer of 16 heads x 128
//                 with index_topk 2048.
//   tiny          a V3.2-shaped toy (hidden 64, 2 layers, index_topk 16) for the CI smoke test on SwiftShader.
// transformers_bench.py carries the same three dictionaries; keep them in step.
import { parseModelConfig, type ModelConfig } from '../engine/config';

const V2_LITE_R16: Record<string, unknown> = {
  architectures: ['DeepseekV2ForCausalLM'],
  model_type: 'deepseek_v2',
  vocab_size: 102400,
  hidden_size: 2048,
  intermediate_size: 10944,
  moe_intermediate_size: 1408,
  num_hidden_layers: 27,
  first_k_dense_replace: 1,
  num_attention_heads: 16,
  num_key_value_heads: 16,
  q_lora_rank: null,
  kv_lora_rank: 512,
  qk_nope_head_dim: 128,
  qk_rope_head_dim: 64,
  qk_head_dim: 192,
  head_dim: 64,
  v_head_dim: 128,
  n_routed_experts: 16,
  n_shared_experts: 2,
  num_experts_per_tok: 6,
  n_group: 1,
  topk_group: 1,
  topk_method: 'greedy',
  norm_topk_prob: false,
  routed_scaling_factor: 1.0,
  rms_norm_eps: 1e-6,
  max_position_embeddings: 163840,
  rope_parameters: {
    rope_type: 'yarn', rope_theta: 10000, factor: 40, original_max_position_embeddings: 4096,
    beta_fast: 32, beta_slow: 1, mscale: 0.707, mscale_all_dim: 0.707,
  },
  bos_token_id: 100000,
  eos_token_id: 100001,
  tie_word_embeddings: false,
  attention_bias: false,
  mlp_bias: false,
};

const V32_LITE_R16: Record<string, unknown> = {
  ...V2_LITE_R16,
  architectures: ['DeepseekV32ForCausalLM'],
  model_type: 'deepseek_v32',
  q_lora_rank: 768,
  topk_method: 'noaux_tc',
  norm_topk_prob: true,
  routed_scaling_factor: 2.5,
  index_n_heads: 16,
  index_head_dim: 128,
  index_topk: 2048,
};

const TINY: Record<string, unknown> = {
  architectures: ['DeepseekV32ForCausalLM'],
  model_type: 'deepseek_v32',
  vocab_size: 512,
  hidden_size: 64,
  intermediate_size: 128,
  moe_intermediate_size: 32,
  num_hidden_layers: 2,
  first_k_dense_replace: 1,
  num_attention_heads: 4,
  num_key_value_heads: 4,
  q_lora_rank: 32,
  kv_lora_rank: 32,
  qk_nope_head_dim: 16,
  qk_rope_head_dim: 8,
  qk_head_dim: 24,
  head_dim: 8,
  v_head_dim: 16,
  n_routed_experts: 8,
  n_shared_experts: 1,
  num_experts_per_tok: 2,
  n_group: 1,
  topk_group: 1,
  norm_topk_prob: true,
  routed_scaling_factor: 2.5,
  rms_norm_eps: 1e-6,
  max_position_embeddings: 4096,
  rope_parameters: { rope_type: 'default', rope_theta: 10000 },
  index_n_heads: 4,
  index_head_dim: 16,
  index_topk: 16,
  bos_token_id: 0,
  eos_token_id: 1,
  tie_word_embeddings: false,
};

export const SYNTHETIC_CONFIGS: Readonly<Record<string, Record<string, unknown>>> = {
  'v2-lite-r16': V2_LITE_R16,
  'v32-lite-r16': V32_LITE_R16,
  tiny: TINY,
};

export function syntheticConfig(name: string): ModelConfig {
  const raw = SYNTHETIC_CONFIGS[name];
  if (!raw) throw new Error(`unknown synthetic model "${name}"; choose one of ${Object.keys(SYNTHETIC_CONFIGS).join(', ')}`);
  return parseModelConfig(raw);
}
