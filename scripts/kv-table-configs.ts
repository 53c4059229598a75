// The published config.json values of two real DeepSeek models, for the KV bytes table (scripts/kv-table.ts).
// Sources: https://huggingface.co/deepseek-ai/DeepSeek-V2-Lite/blob/main/config.json and
// https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json, as tabulated in shared/docs/deepseek-math.md
// §1.1 (keys that do not affect inference, such as aux_loss_alpha or auto_map, left out).

export const DEEPSEEK_V2_LITE_CONFIG: Record<string, unknown> = {
  model_type: 'deepseek_v2', vocab_size: 102400, hidden_size: 2048, intermediate_size: 10944, moe_intermediate_size: 1408,
  num_hidden_layers: 27, first_k_dense_replace: 1, moe_layer_freq: 1, n_routed_experts: 64, n_shared_experts: 2,
  num_experts_per_tok: 6, n_group: 1, topk_group: 1, topk_method: 'greedy', scoring_func: 'softmax', norm_topk_prob: false,
  routed_scaling_factor: 1.0, num_attention_heads: 16, num_key_value_heads: 16, q_lora_rank: null, kv_lora_rank: 512,
  qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128, max_position_embeddings: 163840, rope_theta: 10000,
  rope_scaling: { type: 'yarn', factor: 40, original_max_position_embeddings: 4096, beta_fast: 32, beta_slow: 1, mscale: 0.707, mscale_all_dim: 0.707 },
  rms_norm_eps: 1e-6, tie_word_embeddings: false, bos_token_id: 100000, eos_token_id: 100001, hidden_act: 'silu', attention_bias: false,
};

export const DEEPSEEK_V3_CONFIG: Record<string, unknown> = {
  model_type: 'deepseek_v3', vocab_size: 129280, hidden_size: 7168, intermediate_size: 18432, moe_intermediate_size: 2048,
  num_hidden_layers: 61, num_nextn_predict_layers: 1, first_k_dense_replace: 3, moe_layer_freq: 1, n_routed_experts: 256,
  n_shared_experts: 1, num_experts_per_tok: 8, n_group: 8, topk_group: 4, topk_method: 'noaux_tc', scoring_func: 'sigmoid',
  norm_topk_prob: true, routed_scaling_factor: 2.5, num_attention_heads: 128, num_key_value_heads: 128, q_lora_rank: 1536,
  kv_lora_rank: 512, qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128, max_position_embeddings: 163840,
  rope_theta: 10000,
  rope_scaling: { type: 'yarn', factor: 40, original_max_position_embeddings: 4096, beta_fast: 32, beta_slow: 1, mscale: 1.0, mscale_all_dim: 1.0 },
  rms_norm_eps: 1e-6, tie_word_embeddings: false, bos_token_id: 0, eos_token_id: 1, hidden_act: 'silu', attention_bias: false,
};
