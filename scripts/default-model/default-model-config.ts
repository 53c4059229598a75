// What the bundled default model is: a DeepSeek-V3.2-shaped model (MLA with a query latent, the DSA indexer, a
// dense first layer, then MoE layers with 8 routed experts, 2 active, and a shared expert) at a small width, with
// the real DeepSeek-V3 tokenizer's full vocabulary, filled with fixed-seed random weights. It exercises every part
// of the engine and loads in seconds, but it writes gibberish: it is there so the app runs offline out of the box.
// Changing anything here that changes the weights or the package must bump GENERATOR_VERSION, which is what
// `npm start` compares to decide whether public/models/ is current.

export const GENERATOR_VERSION = 1;
export const DEFAULT_MODEL_SEED = 0x5eed_d5;
/** Folder under public/models/ and the package's manifest name. */
export const DEFAULT_MODEL_DIR = 'deepseek-v32-tiny-random';
export const DEFAULT_MODEL_NAME = 'DeepSeek-V3.2-shaped tiny model (random weights)';
export const DEFAULT_MODEL_LABEL = 'random weights';
/** The trained chat model (train/, committed under public/models/), listed first in index.json as the default. */
export const TRAINED_MODEL_DIR = 'deepseek-v32-dictionary-chat';
export const TRAINED_MODEL_LABEL = 'trained: dictionary chat';
/** q4 keeps the model at ~75 MiB: the embedding and lm_head (the bulk, [V, 256] each) stay q8 under q4's plan. */
export const DEFAULT_MODEL_WEIGHTS = 'q4' as const;
/** Recorded as the package's source; the generator version in it is what marks a package as current. */
export const DEFAULT_MODEL_SOURCE = `scripts/default-model generator v${GENERATOR_VERSION}, seed ${DEFAULT_MODEL_SEED}, random weights`;

/** config.json of the generated checkpoint, in transformers' deepseek_v32 field names. */
export function defaultModelConfig(vocabSize: number): Record<string, unknown> {
  const numHiddenLayers = 3;
  return {
    architectures: ['DeepseekV32ForCausalLM'],
    model_type: 'deepseek_v32',
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 0,
    eos_token_id: 1,
    dtype: 'bfloat16',
    first_k_dense_replace: 1,
    hidden_act: 'silu',
    hidden_size: 256,
    intermediate_size: 512,
    moe_intermediate_size: 128,
    n_routed_experts: 8,
    num_experts_per_tok: 2,
    n_shared_experts: 1,
    n_group: 2,
    topk_group: 1,
    norm_topk_prob: true,
    routed_scaling_factor: 2.5,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    q_lora_rank: 64,
    kv_lora_rank: 64,
    qk_nope_head_dim: 32,
    qk_rope_head_dim: 16,
    qk_head_dim: 48,
    head_dim: 16,
    v_head_dim: 32,
    index_n_heads: 4,
    index_head_dim: 32,
    index_topk: 64,
    layer_types: Array(numHiddenLayers).fill('deepseek_sparse_attention'),
    mlp_layer_types: ['dense', ...Array(numHiddenLayers - 1).fill('sparse')],
    num_hidden_layers: numHiddenLayers,
    max_position_embeddings: 4096,
    rms_norm_eps: 1e-6,
    rope_parameters: { rope_theta: 10000.0, rope_type: 'default' },
    initializer_range: 0.02,
    mlp_bias: false,
    pad_token_id: null,
    tie_word_embeddings: false,
    use_cache: true,
    vocab_size: vocabSize,
  };
}

/** Token ids a tokenizer.json can produce: one past the largest id of its BPE vocabulary and added tokens. */
export function tokenizerVocabSize(tokenizerJson: { model: { vocab: Record<string, number> }; added_tokens?: { id: number }[] }): number {
  let largest = -1;
  for (const id of Object.values(tokenizerJson.model.vocab)) largest = Math.max(largest, id);
  for (const token of tokenizerJson.added_tokens ?? []) largest = Math.max(largest, token.id);
  return largest + 1;
}
