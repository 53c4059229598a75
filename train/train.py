# Trains the bundled chat model on one GPU (transformers' DeepseekV32ForCausalLM, bf16 autocast, fused AdamW) in
# three stages within a time budget: (1) dense attention, the whole model learns the next token while the DSA
# indexer learns, from detached inputs, to match the attention distribution (KL); (2) indexer warm-up: the model
# frozen, only the indexer trains on the dense attention; (3) sparse: the indexer's top-k selection on, the model
# learns through it and the indexer keeps matching attention over the keys it selected. With --snapshot-every, bf16
# copies of the weights are kept during the sparse stage and the one that best gives back the model card's ten
# answers under the shipping plan (plan_eval.py) becomes the checkpoint (choose_snapshot). Then evaluate.py.
# Reproduce (the shipped model: two calls of at most 10 minutes on one H100, the second going on from the first):
#   python3 train/build_data.py /tmp/data && cd train && python3 train.py --data /tmp/data --out /tmp/run1 && python3 train.py --data /tmp/data --out /tmp/run2 --resume /tmp/run1/checkpoint --lr 1e-3 --dense-until 0.5
import argparse, json, math, os, random, time
import numpy as np
import torch
from transformers import AutoModelForCausalLM, DeepseekV32Config
from common import MAX_POSITIONS, model_config, read_items, render
from dsa import DsaHooks, balance_routers, indexer_kl, rope_tables, set_sparse
from tokenizer_build import train_tokenizer
from tokenizers import Tokenizer


def log(msg, _start=time.time()):
    print(f'[{time.time() - _start:7.1f}s] {msg}', flush=True)


def token_stream(tokenizer, items, seed):
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    texts = [render(items[i]) for i in order]
    ids = [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
    return np.concatenate([np.asarray(x, dtype=np.int32) for x in ids])


def choose_snapshot(model, snapshots, tokenizer, train_items, held_stream, out_dir, ship_plan):
    """Loads into `model` the snapshot (of the sparse stage, every --snapshot-every seconds, plus the final weights)
    that reproduces the most of the ten card questions' training answers under the plan the package will use
    (plan_eval.py), then the most under bf16, then the most of 2,000 training questions under that plan. Every
    score (also under the q8 plan) goes to snapshots.json."""
    from plan_eval import card_items, question_sample, score_state
    model.eval()
    cards, questions = card_items(train_items), question_sample(train_items)
    table = []
    for meta, state in snapshots:
        log(f'snapshot step {meta["step"]} ({meta["seconds"]} s, loss {meta["loss"]})')
        plans = ['bf16'] + sorted({'q8', ship_plan})
        meta['plans'] = score_state(model, state, plans, tokenizer, cards, questions, held_stream, log=log)
        table.append(meta)
    def key(i):
        plans = table[i]['plans']
        return (plans[ship_plan]['card'], plans['bf16']['card'], plans[ship_plan]['questions'])
    chosen = max(range(len(table)), key=key)
    table[chosen]['chosen'] = True
    log(f'chosen: snapshot step {table[chosen]["step"]}')
    json.dump(table, open(os.path.join(out_dir, 'snapshots.json'), 'w'), indent=1)
    model.load_state_dict(snapshots[chosen][1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--train-seconds', type=float, default=400)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--seq', type=int, default=MAX_POSITIONS)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--kl-rows', type=int, default=1024)
    p.add_argument('--resume', help='a checkpoint folder to go on from (its tokenizer must be in DATA/tokenizer)')
    p.add_argument('--dense-until', type=float, default=0.70, help='fraction of the time in stage 1')
    p.add_argument('--short-seq', type=int, default=1024, help='sequence length early in stage 1 (same tokens per step)')
    p.add_argument('--short-until', type=float, default=0.0, help='fraction of the time trained on --short-seq sequences')
    p.add_argument('--min-lr', type=float, default=0.1, help='the cosine ends at this fraction of --lr')
    p.add_argument('--snapshot-every', type=float, default=0, help='seconds between kept snapshots (0: none)')
    p.add_argument('--snapshot-after', type=float, default=0.3, help='fraction of the time before the first snapshot')
    p.add_argument('--ship-plan', default='q8-experts', help='plan_eval.PLANS entry the snapshots are judged under')
    p.add_argument('--smoke', action='store_true')
    args = p.parse_args()
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)
    tok_dir = os.path.join(args.out, 'checkpoint')
    train_items, held_items = read_items(os.path.join(args.data, 'train.jsonl.gz')), read_items(os.path.join(args.data, 'heldout.jsonl.gz'))
    log(f'{len(train_items)} train items, {len(held_items)} held-out')
    given = args.resume if args.resume and os.path.exists(os.path.join(args.resume, 'tokenizer.json')) else os.path.join(args.data, 'tokenizer')
    if os.path.exists(os.path.join(given, 'tokenizer.json')):
        os.makedirs(tok_dir, exist_ok=True)
        for f in ('tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'):
            open(os.path.join(tok_dir, f), 'wb').write(open(os.path.join(given, f), 'rb').read())
        tokenizer = Tokenizer.from_file(os.path.join(tok_dir, 'tokenizer.json'))
        log(f'tokenizer reused from {given}')
    else:
        texts = (t for i in train_items for t in ((i['user'], i['assistant']) if i['kind'] == 'chat' else (i['text'],)))
        tokenizer = train_tokenizer(texts, tok_dir)
        log(f'tokenizer trained: {tokenizer.get_vocab_size()} ids')
    stream = token_stream(tokenizer, train_items, seed=1)
    held_stream = token_stream(tokenizer, held_items, seed=2)
    log(f'train tokens {len(stream)}, held-out tokens {len(held_stream)}')

    config = DeepseekV32Config(**model_config())
    if args.resume:
        model = AutoModelForCausalLM.from_pretrained(args.resume, dtype=torch.float32, attn_implementation='eager').cuda()
        log(f'resumed from {args.resume}')
    else:
        model = AutoModelForCausalLM.from_config(config, attn_implementation='eager').cuda()
    n_params = sum(p.numel() for p in model.parameters())
    log(f'model: {n_params / 1e6:.2f}M parameters; attention {model.config._attn_implementation}')
    idx_params = [p for n, p in model.named_parameters() if '.indexer.' in n]
    main_params = [p for n, p in model.named_parameters() if '.indexer.' not in n]
    decay = lambda ps: [{'params': [p for p in ps if p.dim() >= 2], 'weight_decay': 0.1}, {'params': [p for p in ps if p.dim() < 2], 'weight_decay': 0.0}]
    main_opt = torch.optim.AdamW(decay(main_params), lr=args.lr, betas=(0.9, 0.95), fused=True)
    idx_opt = torch.optim.AdamW(idx_params, lr=1e-3, betas=(0.9, 0.95), fused=True)
    hooks = DsaHooks(model)
    tables = {s: rope_tables(config, s, 'cuda') for s in {args.seq, args.short_seq}}
    stream_t = torch.from_numpy(stream.astype(np.int64))
    tokens_per_step = args.batch * args.seq
    stages = [('dense', args.dense_until), ('indexer-warmup', args.dense_until + 0.05), ('sparse', 1.0)]
    history, step, seen, start = [], 0, 0, time.time()
    snapshots, last_snapshot = [], None
    gen = torch.Generator().manual_seed(3)
    while True:
        frac = (time.time() - start) / args.train_seconds
        if frac >= 1.0:
            break
        stage = next(name for name, end in stages if frac < end)
        sparse = stage == 'sparse'
        set_sparse(model, sparse, model_config()['index_topk'])
        # Short sequences first (attention costs less, the model sees more tokens), full length from then on.
        seq = args.short_seq if stage == 'dense' and frac < args.short_until else args.seq
        starts = torch.randint(0, len(stream_t) - seq, (args.batch * args.seq // seq,), generator=gen)
        batch = torch.stack([stream_t[s:s + seq] for s in starts]).cuda(non_blocking=True)
        lr = args.lr * min(1.0, (step + 1) / 100) * (args.min_lr + (1 - args.min_lr) * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in main_opt.param_groups:
            g['lr'] = lr
        train_main = stage != 'indexer-warmup'
        with torch.autocast('cuda', dtype=torch.bfloat16), torch.set_grad_enabled(train_main):
            out = model(input_ids=batch, labels=batch, use_cache=False)
        if train_main:
            out.loss.backward()
        rows = torch.randperm(seq - 1, generator=gen)[: args.kl_rows - 1].sort().values
        rows = torch.cat([rows, torch.tensor([seq - 1])]).cuda()
        kl, agree = indexer_kl(hooks, config, tables[seq], sparse, backward=True, rows=rows)
        if train_main:
            balance_routers(hooks, config)
        hooks.clear()
        if train_main:
            torch.nn.utils.clip_grad_norm_(main_params, 1.0)
            main_opt.step()
        torch.nn.utils.clip_grad_norm_(idx_params, 1.0)
        idx_opt.step()
        main_opt.zero_grad(set_to_none=True)
        idx_opt.zero_grad(set_to_none=True)
        seen += tokens_per_step
        if step % 25 == 0 or (args.smoke and step % 5 == 0):
            rec = {'step': step, 'stage': stage, 'seq': seq, 'seconds': round(time.time() - start, 1), 'tokens': seen,
                   'loss': round(out.loss.item(), 4), 'indexer_kl': round(kl.item(), 4), 'lr': lr,
                   'topk_agreement': agree}
            rec['max_mem_gb'] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
            history.append(rec)
            log(json.dumps(rec))
        step += 1
        if args.snapshot_every and stage == 'sparse' and frac >= args.snapshot_after and (
                last_snapshot is None or time.time() - last_snapshot >= args.snapshot_every):
            snapshots.append(({'step': step, 'seconds': round(time.time() - start, 1), 'loss': round(out.loss.item(), 4)},
                              {k: v.detach().to('cpu', torch.bfloat16) for k, v in model.state_dict().items()}))
            last_snapshot = time.time()
    log(f'trained {step} steps, {seen} tokens, {time.time() - start:.0f}s')
    hooks.enabled = False
    if snapshots:
        snapshots.append(({'step': step, 'seconds': round(time.time() - start, 1), 'loss': round(out.loss.item(), 4), 'final': True},
                          {k: v.detach().to('cpu', torch.bfloat16) for k, v in model.state_dict().items()}))
        try:
            choose_snapshot(model, snapshots, tokenizer, train_items, held_stream, args.out, args.ship_plan)
        except Exception:  # keep the final weights rather than lose the run
            import traceback
            traceback.print_exc()
            model.load_state_dict(snapshots[-1][1])
    json.dump({'args': vars(args), 'history': history, 'steps': step, 'tokens': seen, 'params': n_params,
               'train_tokens_available': int(len(stream)), 'config': model_config()},
              open(os.path.join(args.out, 'train_log.json'), 'w'), indent=1)
    model.to(torch.bfloat16).save_pretrained(tok_dir)
    log('checkpoint saved')
    from evaluate import evaluate_all
    evaluate_all(tok_dir, held_items, held_stream, args.out, smoke=args.smoke, log=log)


if __name__ == '__main__':
    main()
