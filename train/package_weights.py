# The weights a package holds, without PyTorch (numpy only): the converter's plans and storage arithmetic
# (engine/weights/weight-plan.ts, quant.ts) applied to a bf16 checkpoint, and a package's tensors read back as the
# engine's kernels see them. `check` confirms that a package holds exactly the values computed here from its
# checkpoint, so references computed on those values (q8_references.py --checkpoint) are on the shipped weights.
#   python3 package_weights.py CHECKPOINT_DIR PACKAGE_DIR PLAN    (exit status 0 when every tensor is equal)
import json, math, os, struct, sys
import numpy as np

# dtype per tensor class (weight-plan.ts's classes, plus 'experts' = routed experts mlp.experts.*, which are
# 'matrix' there unless the plan names them). None = keep the checkpoint's values (bf16 read as float32).
PLANS = {
    'bf16': None,
    'q8': {'matrix': 'q8', 'experts': 'q8', 'embedding': 'f16', 'lmHead': 'f16', 'kvUp': 'f16'},
    'q8-experts': {'matrix': 'f16', 'experts': 'q8', 'embedding': 'f16', 'lmHead': 'f16', 'kvUp': 'f16'},
    'f16': {'matrix': 'f16', 'experts': 'f16', 'embedding': 'f16', 'lmHead': 'f16', 'kvUp': 'f16'},
}
BYTES_PER_ELEMENT = {'f32': 4, 'f16': 2, 'q8': 1 + 2 / 16}


def tensor_class(name, shape):
    if len(shape) < 2:
        return 'vector'
    if name.endswith('embed_tokens.weight'):
        return 'embedding'
    if name == 'lm_head.weight':
        return 'lmHead'
    if name.endswith('.mlp.gate.weight'):
        return 'router'
    if '.indexer.wk.' in name or '.indexer.weights_proj.' in name:
        return 'indexerKey'
    if '.kv_b_proj.' in name:
        return 'kvUp'
    if '.mlp.experts.' in name:
        return 'experts'
    return 'matrix'


def quantise_q8(w, group=16):
    """[rows, K] float32 (numpy) -> the values the engine's q8 kernels see, exactly as quant.ts's packMatrix and
    chooseScale compute them: float64 arithmetic, candidate scales absmax/(127 + s), s = 0..8, each rounded to
    float32 and then to f16 (round to nearest even), codes Math.round (halves up) clamped to ±127, the first scale
    with the least squared error kept."""
    rows, k = w.shape
    assert k % group == 0, (w.shape, group)
    g = w.astype(np.float64).reshape(rows, k // group, group)
    absmax = np.abs(g).max(-1, keepdims=True)

    def codes(scale):
        x = g / np.where(scale > 0, scale, 1.0)
        r = np.floor(x)
        return np.clip(r + (x - r >= 0.5), -127, 127)

    best, best_err = np.zeros_like(absmax), np.full_like(absmax, np.inf)
    with np.errstate(over='ignore'):
        for step in range(9):
            scale = (absmax / (127 + step)).astype(np.float32).astype(np.float16).astype(np.float64)
            ok = (scale > 0) & np.isfinite(scale)
            d = g - codes(scale) * scale
            err = np.zeros_like(absmax)
            for i in range(group):  # quant.ts adds the squares in order
                err += d[..., i:i + 1] * d[..., i:i + 1]
            better = ok & (err < best_err)
            best = np.where(better, scale, best)
            best_err = np.where(better, err, best_err)
    return (codes(best) * best).astype(np.float32).reshape(rows, k)


def round_f16(w):
    return w.astype(np.float16).astype(np.float32)


def read_bf16_checkpoint(ckpt_dir):
    """model.safetensors of a bf16 checkpoint (as train.py saves it) as float32 arrays, by tensor name."""
    data = open(os.path.join(ckpt_dir, 'model.safetensors'), 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    header, base, out = json.loads(data[8:8 + n]), 8 + n, {}
    for name, v in header.items():
        if name == '__metadata__':
            continue
        if v['dtype'] != 'BF16':
            raise ValueError(f'{name}: {v["dtype"]}, expected BF16')
        start, end = v['data_offsets']
        raw = np.frombuffer(data[base + start:base + end], dtype=np.uint16)
        out[name] = (raw.astype(np.uint32) << 16).view(np.float32).reshape(v['shape'])
    return out


def storage(name, shape, plan):
    cls = tensor_class(name, tuple(shape))
    return 'f32' if cls in ('vector', 'router', 'indexerKey') else plan[cls]


def plan_values(tensors, plan):
    """Each checkpoint tensor as `plan` stores it (float32 values, the engine's view)."""
    out = {}
    for name, x in tensors.items():
        dtype = storage(name, x.shape, plan)
        if dtype == 'f32':
            out[name] = np.ascontiguousarray(x, dtype=np.float32)
            continue
        flat = x.reshape(-1, x.shape[-1])
        out[name] = (quantise_q8(flat) if dtype == 'q8' else round_f16(flat)).reshape(x.shape)
    return out


def dequantise(package_dir):
    """A package's tensors as float32 (layout of quant.ts: per tensor all rows' data, ceil(K/4) words a row for
    q8, then all rows' f16 group scales, two a word)."""
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


def check(ckpt_dir, package_dir, plan_name):
    expected = plan_values(read_bf16_checkpoint(ckpt_dir), PLANS[plan_name])
    got = dequantise(package_dir)
    manifest = {t['name']: t for t in json.load(open(os.path.join(package_dir, 'manifest.json')))['tensors']}
    bad = sorted(set(expected) ^ set(got))
    for name, x in expected.items():
        if name in got and not (np.array_equal(x, got[name]) and manifest[name]['dtype'] == storage(name, x.shape, PLANS[plan_name])):
            bad.append(name)
    print(f'{len(expected)} tensors; {len(expected) - len(bad)} equal to {plan_name} applied to {ckpt_dir}'
          + (f'; differing: {bad[:10]}' if bad else ''))
    return not bad


if __name__ == '__main__':
    sys.exit(0 if check(*sys.argv[1:4]) else 1)
