# After training, on the GPU: held-out perplexity with dense and with sparse (DSA top-k) attention over 4,096-token
# windows, and the references the engine's tests compare with: PyTorch greedy answers (token ids, no sampling,
# float32 compute on the saved bf16 weights) to 50 held-out prompts in the chat template, with the top-1/top-2
# logit margin of every step so that near-ties can be told apart from real disagreements.
import hashlib, json, math, os
import torch
from transformers import AutoModelForCausalLM
from tokenizers import Tokenizer
from common import EOS, INDEX_TOPK, MAX_POSITIONS, prompt_text
from dsa import set_sparse

QUOTAS = [('wordnet', 'What does', 20), ('wordnet', 'Use', 10), ('wordnet', 'Give synonyms', 10), ('jargon', 'What is', 7), ('devil', 'What does the Devil', 3)]
SAMPLE_PROMPTS = ['What does "house" mean?', 'What does "happy" mean?', 'Use "river" in a sentence.',
                  'Give synonyms for "big".', 'What is "hacker"?', 'What does "water" mean?', 'Give synonyms for "quick".',
                  'Use "music" in a sentence.', 'What is "bug"?', 'What does the Devil\'s Dictionary say about "lawyer"?']


def greedy_prompts(held_items):
    chats = sorted((i for i in held_items if i['kind'] == 'chat'), key=lambda i: hashlib.sha256(i['user'].encode()).hexdigest())
    chosen = []
    for source, prefix, count in QUOTAS:
        chosen += [i for i in chats if i['source'] == source and i['user'].startswith(prefix)
                   and not (prefix == 'What does' and 'Devil' in i['user'])][:count]
    return chosen


@torch.no_grad()
def perplexity(model, held_stream, windows, sparse):
    set_sparse(model, sparse, INDEX_TOPK)
    total, count = 0.0, 0
    for w in range(windows):
        ids = torch.from_numpy(held_stream[w * MAX_POSITIONS:(w + 1) * MAX_POSITIONS].astype('int64'))[None].cuda()
        with torch.autocast('cuda', dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        total += loss.item() * (ids.shape[1] - 1)
        count += ids.shape[1] - 1
    return math.exp(total / count)


@torch.no_grad()
def greedy(model, ids, max_new, eos_id):
    out, margins = [], []
    seq = torch.tensor([ids], device='cuda')
    for _ in range(max_new):
        logits = model(input_ids=seq, use_cache=False).logits[0, -1].float()
        top = logits.topk(2)
        nxt = int(top.indices[0])
        out.append(nxt)
        margins.append(round(float(top.values[0] - top.values[1]), 5))
        if nxt == eos_id:
            break
        seq = torch.cat([seq, torch.tensor([[nxt]], device='cuda')], dim=1)
    return out, margins


def evaluate_all(ckpt_dir, held_items, held_stream, out_dir, smoke, log):
    tokenizer = Tokenizer.from_file(os.path.join(ckpt_dir, 'tokenizer.json'))
    eos_id = tokenizer.token_to_id(EOS)
    model = AutoModelForCausalLM.from_pretrained(ckpt_dir, dtype=torch.float32, attn_implementation='eager').cuda().eval()
    windows = 2 if smoke else min(24, len(held_stream) // MAX_POSITIONS)
    ppl = {'windows': windows, 'tokens_per_window': MAX_POSITIONS, 'index_topk': INDEX_TOPK}
    for sparse in (False, True):
        ppl['sparse' if sparse else 'dense'] = perplexity(model, held_stream, windows, sparse)
    ppl['sparse_over_dense'] = ppl['sparse'] / ppl['dense']
    log('perplexity ' + json.dumps(ppl))
    set_sparse(model, True, INDEX_TOPK)
    max_new = 8 if smoke else 48
    prompts = greedy_prompts(held_items)[: 5 if smoke else 50]
    refs = []
    for item in prompts:
        ids = tokenizer.encode(prompt_text(item['user']), add_special_tokens=False).ids
        answer, margins = greedy(model, ids, max_new, eos_id)
        refs.append({'user': item['user'], 'source': item['source'], 'prompt_ids': ids, 'answer_ids': answer,
                     'margins': margins, 'answer': tokenizer.decode(answer, skip_special_tokens=True),
                     'dataset_answer': item['assistant']})
    log(f'{len(refs)} greedy references, e.g. {refs[0]["user"]} -> {refs[0]["answer"]}')
    samples = []
    for user in SAMPLE_PROMPTS[: 2 if smoke else 10]:
        answer, _ = greedy(model, tokenizer.encode(prompt_text(user), add_special_tokens=False).ids, 64, eos_id)
        samples.append({'user': user, 'answer': tokenizer.decode(answer, skip_special_tokens=True)})
        log(f'sample: {user} -> {samples[-1]["answer"]}')
    json.dump({'max_new_tokens': max_new, 'references': refs}, open(os.path.join(out_dir, 'greedy_refs.json'), 'w'), ensure_ascii=False, indent=1)
    json.dump({'perplexity': ppl, 'pytorch_samples': samples}, open(os.path.join(out_dir, 'eval.json'), 'w'), ensure_ascii=False, indent=1)
