# PyTorch greedy references on exactly the weights the app runs: reads the converter's q8 package (manifest.json +
# shards; layout of engine/weights/quant.ts: per tensor all rows' int8 codes, ceil(K/4) words a row, then all rows'
# f16 group scales, two a word), dequantises every tensor to float32 as the engine's kernels see it (code × scale),
# loads that into transformers' DeepseekV32ForCausalLM (float32, eager) and writes the greedy answers to the same 50
# held-out prompts as evaluate.py, with per-step top-1/top-2 margins, plus how many equal the bf16 model's answers.
# Usage: python3 q8_references.py PACKAGE_DIR CONFIG_JSON HELDOUT_JSONL_GZ BF16_REFS_JSON OUT_JSON
import json, math, os, sys, tempfile
import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import AutoModelForCausalLM
from tokenizers import Tokenizer
from common import EOS, prompt_text, read_items
from evaluate import greedy, greedy_prompts


def dequantise(package_dir):
    manifest = json.load(open(os.path.join(package_dir, 'manifest.json')))
    shards = [np.fromfile(os.path.join(package_dir, s['file']), dtype=np.uint8) for s in manifest['shards']]
    tensors = {}
    for t in manifest['tensors']:
        raw = shards[t['shard']][t['offset']:t['offset'] + t['nbytes']]
        shape = t['shape']
        rows, k = (1, shape[0]) if len(shape) == 1 else (int(np.prod(shape[:-1])), shape[-1])
        if t['dtype'] == 'f32':
            values = raw.view(np.float32)[: rows * k].reshape(rows, k)
        elif t['dtype'] == 'f16':
            values = raw.view(np.float16).reshape(rows, -1)[:, :k].astype(np.float32)
        elif t['dtype'] == 'q8':
            row_words = math.ceil(k / 4)
            codes = raw[: rows * row_words * 4].view(np.int8).reshape(rows, row_words * 4)[:, :k].astype(np.float32)
            groups = math.ceil(k / t['group'])
            scales = raw[rows * row_words * 4:].view(np.float16).reshape(rows, -1)[:, :groups].astype(np.float32)
            values = codes * np.repeat(scales, t['group'], axis=1)[:, :k]
        else:
            raise ValueError(f"{t['name']}: {t['dtype']} not handled")
        tensors[t['name']] = np.ascontiguousarray(values.reshape(shape), dtype=np.float32)
    return tensors


def main(package_dir, config_path, heldout_path, bf16_refs_path, out_path):
    work = tempfile.mkdtemp()
    save_file(dequantise(package_dir), os.path.join(work, 'model.safetensors'), metadata={'format': 'pt'})
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
    print(f'{len(refs)} references on the dequantised q8 weights; {same} equal the bf16 model\'s answers', flush=True)
    json.dump({'max_new_tokens': 48, 'weights': 'q8 package, dequantised to float32', 'equal_to_bf16_answers': same,
               'references': refs}, open(out_path, 'w'), ensure_ascii=False, indent=1)


if __name__ == '__main__':
    main(*sys.argv[1:6])
