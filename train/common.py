# Shared pieces of the training run: the chat markers and template, the model config (every part the engine
# implements: MLA with a query latent, the DSA indexer, a dense first layer then MoE with a shared expert and
# sigmoid routing with a correction bias under noaux_tc), data loading, and rendering items as token streams.
import gzip, json

BOS, EOS = '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>'
USER, ASSISTANT = '<｜User｜>', '<｜Assistant｜>'
SPECIAL_TOKENS = [BOS, EOS, USER, ASSISTANT]  # ids 0..3
VOCAB_SIZE = 8192
MAX_POSITIONS = 4096
INDEX_TOPK = 256

# The DeepSeek chat template, without tool calls: BOS, the system prompt, then each turn.
CHAT_TEMPLATE = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(system_prompt='') %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}"
    "{% set ns.system_prompt = ns.system_prompt + message['content'] %}{%- endif %}{%- endfor %}"
    "{{ bos_token }}{{ ns.system_prompt }}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}{%- endif %}"
    "{%- if message['role'] == 'assistant' %}{{ '<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>' }}{%- endif %}"
    "{%- endfor %}"
    "{% if add_generation_prompt %}{{ '<｜Assistant｜>' }}{% endif %}"
)


def model_config():
    layers = 6
    return dict(
        architectures=['DeepseekV32ForCausalLM'], model_type='deepseek_v32', vocab_size=VOCAB_SIZE,
        hidden_size=384, intermediate_size=1024, moe_intermediate_size=256, num_hidden_layers=layers,
        first_k_dense_replace=1, n_routed_experts=8, num_experts_per_tok=2, n_shared_experts=1, n_group=2,
        topk_group=1, norm_topk_prob=True, routed_scaling_factor=2.5, num_attention_heads=6,
        num_key_value_heads=6, q_lora_rank=96, kv_lora_rank=64, qk_nope_head_dim=32, qk_rope_head_dim=16,
        v_head_dim=32, head_dim=16, qk_head_dim=48, index_n_heads=4, index_head_dim=32, index_topk=INDEX_TOPK,
        layer_types=['deepseek_sparse_attention'] * layers, mlp_layer_types=['dense'] + ['sparse'] * (layers - 1),
        max_position_embeddings=MAX_POSITIONS, rms_norm_eps=1e-6,
        rope_parameters={'rope_theta': 10000.0, 'rope_type': 'default'}, initializer_range=0.02,
        attention_bias=False, attention_dropout=0.0, mlp_bias=False, hidden_act='silu', tie_word_embeddings=False,
        bos_token_id=0, eos_token_id=1, pad_token_id=None, use_cache=True,
    )


def read_items(path):
    with gzip.open(path, 'rt', encoding='utf8') as f:
        return [json.loads(line) for line in f]


def render(item):
    """One item as the text the model sees (chat items exactly as the template renders a finished turn)."""
    if item['kind'] == 'chat':
        return BOS + USER + item['user'] + ASSISTANT + item['assistant'] + EOS
    return BOS + item['text'] + EOS


def prompt_text(user):
    return BOS + USER + user + ASSISTANT
