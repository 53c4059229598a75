"""Hugging Face transformers on the bench's synthetic dimensions, for docs/performance.md's comparison.

PyTorch eager attention, bf16 weights, one CUDA GPU, random initialisation from the config (nothing downloaded):
for each model it prefills a prompt of --context random ids (filling the KV cache; that time gives prefill
tokens/s), then decodes --tokens more one at a time, greedy, feeding each sampled id back with the cache, and
reports the median decode step (torch.cuda.synchronize() around each step). A short warm-up run comes first.
The configs are the same as bench/synthetic-configs.ts (v2-lite-r16: DeepSeek-V2-Lite's dimensions with 16
routed experts; v32-lite-r16: plus query LoRA 768 and the DSA indexer 16 x 128, index_topk 2048); keep both in step.

Usage (on the GPU machine; transformers 5.17, torch with CUDA):
    python3 bench/transformers_bench.py [--model v2-lite-r16,v32-lite-r16] [--context 2048] [--tokens 32]
Prints one JSON object per model on stdout; progress on stderr.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

V2_LITE_R16 = {
    "model_type": "deepseek_v2",
    "architectures": ["DeepseekV2ForCausalLM"],
    "vocab_size": 102400,
    "hidden_size": 2048,
    "intermediate_size": 10944,
    "moe_intermediate_size": 1408,
    "num_hidden_layers": 27,
    "first_k_dense_replace": 1,
    "num_attention_heads": 16,
    "num_key_value_heads": 16,
    "q_lora_rank": None,
    "kv_lora_rank": 512,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "qk_head_dim": 192,
    "head_dim": 64,
    "v_head_dim": 128,
    "n_routed_experts": 16,
    "n_shared_experts": 2,
    "num_experts_per_tok": 6,
    "n_group": 1,
    "topk_group": 1,
    "topk_method": "greedy",
    "norm_topk_prob": False,
    "routed_scaling_factor": 1.0,
    "rms_norm_eps": 1e-6,
    "max_position_embeddings": 163840,
    "rope_parameters": {
        "rope_type": "yarn", "rope_theta": 10000.0, "factor": 40.0, "original_max_position_embeddings": 4096,
        "beta_fast": 32.0, "beta_slow": 1.0, "mscale": 0.707, "mscale_all_dim": 0.707,
    },
    "bos_token_id": 100000,
    "eos_token_id": 100001,
    "tie_word_embeddings": False,
    "attention_bias": False,
    "mlp_bias": False,
    "hidden_act": "silu",
    "initializer_range": 0.02,
}

V32_LITE_R16 = {
    **V2_LITE_R16,
    "model_type": "deepseek_v32",
    "architectures": ["DeepseekV32ForCausalLM"],
    "q_lora_rank": 768,
    "topk_method": "noaux_tc",
    "norm_topk_prob": True,
    "routed_scaling_factor": 2.5,
    "index_n_heads": 16,
    "index_head_dim": 128,
    "index_topk": 2048,
    "layer_types": ["deepseek_sparse_attention"] * 27,
    "mlp_layer_types": ["dense"] + ["sparse"] * 26,
}

CONFIGS = {"v2-lite-r16": V2_LITE_R16, "v32-lite-r16": V32_LITE_R16}


def log(message):
    print(f"transformers_bench: {message}", file=sys.stderr, flush=True)


def build_model(name):
    fields = dict(CONFIGS[name])
    model_type = fields.pop("model_type")
    config = AutoConfig.for_model(model_type, **fields)
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="eager")
    return model.eval()


def timed(fn):
    torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    torch.cuda.synchronize()
    return result, time.perf_counter() - start


@torch.inference_mode()
def run(model, context, tokens, vocab):
    generator = torch.Generator(device="cuda").manual_seed(1)
    prompt = torch.randint(0, vocab, (1, context), device="cuda", generator=generator)
    out, prefill_s = timed(lambda: model(input_ids=prompt, use_cache=True))
    cache = out.past_key_values
    next_id = out.logits[:, -1:].argmax(-1)
    steps = []
    for _ in range(tokens):
        out, step_s = timed(lambda: model(input_ids=next_id, past_key_values=cache, use_cache=True))
        cache = out.past_key_values
        next_id = out.logits[:, -1:].argmax(-1)
        steps.append(step_s)
    return prefill_s, steps


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="v2-lite-r16,v32-lite-r16")
    parser.add_argument("--context", type=int, default=2048)
    parser.add_argument("--tokens", type=int, default=32)
    args = parser.parse_args()
    for name in args.model.split(","):
        report = {"engine": "transformers", "version": transformers.__version__, "torch": torch.__version__,
                  "device": torch.cuda.get_device_name(), "model": name, "dtype": "bfloat16", "attention": "eager",
                  "context": args.context}
        try:
            log(f"{name}: building with random weights")
            model = build_model(name)
            report["parameters"] = sum(p.numel() for p in model.parameters())
            run(model, 128, 3, model.config.vocab_size)  # warm-up
            log(f"{name}: prefill {args.context} tokens, then {args.tokens} decode steps")
            prefill_s, steps = run(model, args.context, args.tokens, model.config.vocab_size)
            decode_ms = statistics.median(steps) * 1000
            report.update({
                "prefillTokens": args.context, "prefillMs": prefill_s * 1000, "prefillTokensPerS": args.context / prefill_s,
                "decodeTokens": len(steps), "decodeMsPerToken": decode_ms, "decodeTokensPerS": 1000 / decode_ms,
            })
            del model
            torch.cuda.empty_cache()
        except Exception as error:  # report the failure and go on with the next model
            report["error"] = f"{type(error).__name__}: {error}"
            log(f"{name}: {report['error']}")
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
