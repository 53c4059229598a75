# PyTorch greedy references on exactly the weights the app runs: reads the converter's package (manifest.json +
# shards, package_weights.dequantise: f32, f16 and q8 tensors as float32, as the engine's kernels see them), or
# computes the same values from the bf16 checkpoint and a plan name (package_weights.plan_values, the converter's
# arithmetic; `python3 package_weights.py CKPT PACKAGE PLAN` then confirms the package holds exactly them), loads
# that into transformers' DeepseekV32ForCausalLM (float32, eager) and writes the greedy answers to the same 50
# held-out prompts as evaluate.py, with per-step top-1/top-2 margins, plus how many equal the bf16 model's answers.
# Usage: python3 q8_references.py PACKAGE_DIR|CHECKPOINT_DIR CONFIG_JSON HELDOUT_JSONL_GZ BF16_REFS_JSON OUT_JSON [PLAN]
import json, os, sys, tempfile
import torch
from safetensors.numpy import save_file
from transformers import AutoModelForCausalLM
from tokenizers import Tokenizer
from common import EOS, prompt_text, read_items
from evaluate import greedy, greedy_prompts
from package_weights import PLANS, dequantise, plan_values, read_bf16_checkpoint


def main(package_dir, config_path, heldout_path, bf16_refs_path, out_path, plan=None):
    work = tempfile.mkdtemp()
    if plan:
        tensors, weights = plan_values(read_bf16_checkpoint(package_dir), PLANS[plan]), f'{plan} plan applied to the bf16 checkpoint (package_weights.py), as float32'
    else:
        tensors, weights = dequantise(package_dir), 'the package, dequantised to float32'
    save_file(tensors, os.path.join(work, 'model.safetensors'), metadata={'format': 'pt'})
    config = json.load(open(config_path))
    config['dtype'] = 'float32'
    json.dump(config, open(os.path.join(work, 'config.json'), 'w'))
    model = AutoModelForCausalLM.from_pretrained(work, dtype=torch.float32, attn_implementation='eager').cuda().eval()
    tokenizer = Tokenizer.from_file(os.path.join(package_dir, 'tokenizer.json'))
    eos_id = tokenizer.token_to_id(EOS)
    bf16 = {r['user']: r for r in json.load(open(bf16_refs_path))['references']}
    refs, same = [], 0
    for item in greedy_prompts(read_items(heldout_path)):
        ids = tokenizer.encode(prompt_text(item['user']), add_special_tokens=False).ids
        answer, margins = greedy(model, ids, 48, eos_id)
        same += answer == bf16[item['user']]['answer_ids']
        refs.append({'user': item['user'], 'source': item['source'], 'prompt_ids': ids, 'answer_ids': answer,
                     'margins': margins, 'answer': tokenizer.decode(answer, skip_special_tokens=True)})
    print(f'{len(refs)} references on {weights}; {same} equal the bf16 model\'s answers', flush=True)
    json.dump({'max_new_tokens': 48, 'weights': weights, 'plan': plan, 'equal_to_bf16_answers': same,
               'references': refs}, open(out_path, 'w'), ensure_ascii=False, indent=1)


if __name__ == '__main__':
    main(*sys.argv[1:7])
