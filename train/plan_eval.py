# How a checkpoint answers under the weight plans the converter can write, computed in PyTorch without a package:
# each plan's storage (package_weights.py, the converter's own arithmetic) is applied to the model's parameters.
# Used to pick a plan and, in train.py --snapshot-every, a snapshot.
#   python3 plan_eval.py CHECKPOINT DATA_DIR OUT_JSON   (the ten card samples and training-answer accuracy per plan)
import hashlib, json, os, random, sys
import torch
from common import EOS, INDEX_TOPK, MAX_POSITIONS, prompt_text, read_items, render
from dsa import set_sparse
from package_weights import BYTES_PER_ELEMENT, PLANS, quantise_q8, round_f16, tensor_class


def in_dim(name, config):
    """K of a fused 3-D routed-expert parameter (transformers keeps [E, out, in]; checked, not assumed)."""
    if name.endswith('gate_up_proj'):
        return config.hidden_size
    if name.endswith('down_proj'):
        return config.moe_intermediate_size
    return None


@torch.no_grad()
def apply_plan(model, plan):
    """Rounds the model's parameters in place to what `plan` stores. Returns the package's weight bytes."""
    total = 0
    for name, p in model.named_parameters():
        cls = tensor_class(name, tuple(p.shape))
        dtype = 'f32' if cls in ('vector', 'router', 'indexerKey') else plan[cls]
        total += p.numel() * BYTES_PER_ELEMENT[dtype]
        if dtype == 'f32':
            continue
        w = p.data.float()
        k = in_dim(name, model.config) if w.dim() == 3 else w.shape[-1]
        transposed = w.shape[-1] != k
        if transposed:
            w = w.transpose(-1, -2)
        shape = w.shape
        flat = w.reshape(-1, shape[-1]).cpu().numpy()
        flat = quantise_q8(flat) if dtype == 'q8' else round_f16(flat)
        w = torch.from_numpy(flat).reshape(shape)
        if transposed:
            w = w.transpose(-1, -2)
        p.data.copy_(w)
    return int(total)


def card_items(train_items):
    from evaluate import SAMPLE_PROMPTS
    by_user = {}
    for i in train_items:
        if i['kind'] == 'chat':
            by_user.setdefault(i['user'], i)
    return [by_user[u] for u in SAMPLE_PROMPTS]


def question_sample(train_items, count=2000, seed=6):
    """A fixed sample of distinct training questions (the answers the model was taught)."""
    seen, chats = set(), []
    for i in sorted((i for i in train_items if i['kind'] == 'chat'), key=lambda i: hashlib.sha256(i['user'].encode()).hexdigest()):
        if i['user'] not in seen:
            seen.add(i['user'])
            chats.append(i)
    random.Random(seed).shuffle(chats)
    return chats[:count]


@torch.no_grad()
def answers_reproduced(model, tokenizer, items, batch=64):
    """Per item: would greedy decoding give exactly the training answer (+ EOS)? Checked teacher-forced: every
    answer token must be the argmax after the tokens before it. Sequences are under index_topk keys, so dense and
    sparse attention agree; float32 weights and compute, as evaluate.greedy."""
    set_sparse(model, False, INDEX_TOPK)
    encoded = []
    for item in items:
        full = tokenizer.encode(render(item), add_special_tokens=False).ids
        prompt = len(tokenizer.encode(prompt_text(item['user']), add_special_tokens=False).ids)
        encoded.append((full[:INDEX_TOPK], prompt))
    order = sorted(range(len(items)), key=lambda i: len(encoded[i][0]))
    ok = [False] * len(items)
    for b in range(0, len(order), batch):
        chunk = order[b:b + batch]
        length = max(len(encoded[i][0]) for i in chunk)
        ids = torch.zeros(len(chunk), length, dtype=torch.long)
        for r, i in enumerate(chunk):
            ids[r, :len(encoded[i][0])] = torch.tensor(encoded[i][0])
        pred = model(input_ids=ids.cuda(), use_cache=False).logits.argmax(-1).cpu()
        for r, i in enumerate(chunk):
            full, prompt = encoded[i]
            ok[i] = bool((pred[r, prompt - 1:len(full) - 1] == ids[r, prompt:len(full)]).all())
    set_sparse(model, True, INDEX_TOPK)
    return ok


@torch.no_grad()
def heldout_ppl(model, held_stream, windows=8):
    from evaluate import perplexity
    return perplexity(model, held_stream, min(windows, len(held_stream) // MAX_POSITIONS), sparse=False)


def greedy_samples(model, tokenizer, max_new=64):
    from evaluate import SAMPLE_PROMPTS, greedy
    eos_id = tokenizer.token_to_id(EOS)
    set_sparse(model, True, INDEX_TOPK)
    out = []
    for user in SAMPLE_PROMPTS:
        answer, _ = greedy(model, tokenizer.encode(prompt_text(user), add_special_tokens=False).ids, max_new, eos_id)
        out.append(tokenizer.decode(answer, skip_special_tokens=True))
    return out


def score_state(model, state, plans, tokenizer, cards, questions, held_stream=None, samples=False, log=print):
    """Loads `state` (a state dict) and, per plan, how many of the ten card answers and of `questions` the model
    reproduces; with `samples`, the ten greedy answers as text."""
    result = {}
    for name in plans:
        model.load_state_dict(state)
        size = apply_plan(model, PLANS[name]) if PLANS[name] else None
        card = answers_reproduced(model, tokenizer, cards)
        acc = answers_reproduced(model, tokenizer, questions)
        r = {'card': sum(card), 'card_ok': card, 'questions': round(sum(acc) / len(acc), 4), 'bytes': size}
        if held_stream is not None and name == 'bf16':
            r['heldout_ppl_dense_8w'] = round(heldout_ppl(model, held_stream), 2)
        if samples:
            r['samples'] = greedy_samples(model, tokenizer)
        result[name] = r
        log(f'  {name}: card {r["card"]}/10 {"".join("x" if c else "." for c in card)}, questions {r["questions"]:.4f}'
            + (f', ppl {r["heldout_ppl_dense_8w"]}' if 'heldout_ppl_dense_8w' in r else '') + (f', {size} B' if size else ''))
    model.load_state_dict(state)
    return result


def main(ckpt, data_dir, out_path):
    from transformers import AutoModelForCausalLM
    from tokenizers import Tokenizer
    from train import token_stream
    tokenizer = Tokenizer.from_file(os.path.join(ckpt, 'tokenizer.json'))
    train_items = read_items(os.path.join(data_dir, 'train.jsonl.gz'))
    held_stream = token_stream(tokenizer, read_items(os.path.join(data_dir, 'heldout.jsonl.gz')), seed=2)
    model = AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32, attn_implementation='eager').cuda().eval()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    print(ckpt, flush=True)
    result = score_state(model, state, list(PLANS), tokenizer, card_items(train_items), question_sample(train_items),
                         held_stream, samples=True, log=lambda m: print(m, flush=True))
    json.dump({'checkpoint': ckpt, 'plans': {k: v for k, v in PLANS.items()}, 'result': result},
              open(out_path, 'w'), ensure_ascii=False, indent=1)


if __name__ == '__main__':
    main(*sys.argv[1:4])
