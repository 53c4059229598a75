# DSA indexer training and routing balance for transformers' DeepseekV32ForCausalLM. transformers runs the
# indexer under no_grad (it only picks keys), so its training signal is computed here, as DeepSeek did for V3.2:
# hooks capture each layer's attention input x, the query latent c_Q (q_a_layernorm's output), the attention
# probabilities (eager attention) and the indexer's chosen keys; the index scores are recomputed with gradients
# from the indexer's own weights (deepseek-math.md §6.1: half-split RoPE on the first d_r dims, LayerNorm keys,
# I(t,s) = Σ_j w_tj·n^-0.5·d^-0.5·ReLU(q_tj·k_s)) on detached inputs, and the loss is the KL divergence from the
# head-summed, renormalised attention distribution to softmax(I) over the keys attention could use (all causal
# keys when dense, the selected top-k when sparse). Also: the aux-loss-free balance of the noaux_tc router
# (e_score_correction_bias nudged against each expert's load), and switching between dense and sparse attention.
import torch
import torch.nn.functional as F
from common import INDEX_TOPK

HUGE_TOPK = 1 << 30


class DsaHooks:
    def __init__(self, model):
        self.model, self.captured, self.handles = model, {}, []
        self.layers = model.model.layers
        for i, layer in enumerate(self.layers):
            attn = layer.self_attn
            self.handles.append(attn.register_forward_pre_hook(self._grab_input(i), with_kwargs=True))
            self.handles.append(attn.q_a_layernorm.register_forward_hook(self._grab(i, 'q_latent')))
            self.handles.append(attn.register_forward_hook(self._grab_probs(i)))
            self.handles.append(attn.indexer.register_forward_hook(self._grab(i, 'selected')))
            if hasattr(layer.mlp, 'gate') and hasattr(layer.mlp.gate, 'e_score_correction_bias'):
                self.handles.append(layer.mlp.gate.register_forward_pre_hook(self._grab_input(i, 'router_in'), with_kwargs=True))
        self.enabled = True

    def _grab_input(self, i, key='x'):
        def hook(module, args, kwargs):
            if self.enabled:
                value = args[0] if args else kwargs['hidden_states']
                self.captured.setdefault(i, {})[key] = value.detach()
        return hook

    def _grab(self, i, key):
        def hook(module, args, output):
            if self.enabled:
                value = output[0] if isinstance(output, tuple) else output
                self.captured.setdefault(i, {})[key] = value.detach()
        return hook

    def _grab_probs(self, i):
        def hook(module, args, output):
            if self.enabled:
                self.captured.setdefault(i, {})['probs'] = output[1].detach() if output[1] is not None else None
        return hook

    def clear(self):
        self.captured = {}


def _select_all(hidden_states, *args, **kwargs):
    B, S, _ = hidden_states.shape
    return torch.arange(S, device=hidden_states.device, dtype=torch.int32).expand(B, S, S)


def set_sparse(model, sparse, topk):
    """Dense attention = every key selected (transformers' own top-k over all keys would pick them all, only
    slower, so a stand-in returns them); sparse = the indexer's own forward with the configured index_topk.
    Only for prefill without a cache (training and perplexity)."""
    for layer in model.model.layers:
        indexer = layer.self_attn.indexer
        indexer.index_topk = topk
        if sparse:
            indexer.__dict__.pop('forward', None)
        else:
            indexer.forward = _select_all


def rope_half(x, cos, sin, d_r):
    rot, rest = x[..., :d_r], x[..., d_r:]
    a, b = rot[..., : d_r // 2], rot[..., d_r // 2:]
    rotated = torch.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)
    return torch.cat([rotated, rest], dim=-1)


def rope_tables(config, seq, device):
    d_r = config.qk_rope_head_dim
    inv = 1.0 / (config.rope_parameters['rope_theta'] ** (torch.arange(0, d_r, 2, device=device).float() / d_r))
    angles = torch.arange(seq, device=device).float()[:, None] * inv[None, :]
    return angles.cos(), angles.sin()


def index_scores(indexer, config, x, q_latent, tables, rows):
    """I [B, R, S] for query rows `rows`, with gradients into the indexer's weights (causal part meaningful)."""
    B, S, _ = x.shape
    n, d, d_r = config.index_n_heads, config.index_head_dim, config.qk_rope_head_dim
    cos, sin = tables
    q = F.linear(q_latent, indexer.wq_b.weight).view(B, S, n, d).float()
    q = rope_half(q, cos[None, :, None, :], sin[None, :, None, :], d_r)[:, rows]
    k = F.layer_norm(F.linear(x, indexer.wk.weight).float(), (d,), indexer.k_norm.weight.float(),
                     indexer.k_norm.bias.float(), 1e-6)
    k = rope_half(k, cos[None], sin[None], d_r)
    w = F.linear(x[:, rows].float(), indexer.weights_proj.weight.float()) * (n ** -0.5) * (d ** -0.5)  # [B, R, n]
    scores = torch.zeros(B, len(rows), S, device=x.device)
    for j in range(n):
        dots = torch.relu(torch.matmul(q[:, :, j], k.transpose(1, 2)))
        scores = scores + w[:, :, j, None] * dots
    return scores


def indexer_kl(hooks, config, tables, sparse, backward=False, rows=None):
    """Mean over layers of KL(attention ‖ softmax(index scores)) per query row; also the top-k agreement.
    With `backward`, each layer's loss is back-propagated at once (the layers' graphs are independent)."""
    losses, agreement = [], []
    for i, layer in enumerate(hooks.layers):
        got = hooks.captured[i]
        B, _, S, _ = got['probs'].shape
        rows = torch.arange(S, device=got['x'].device) if rows is None else rows
        probs = got['probs'][:, :, rows].float().sum(1)  # [B, R, S]
        R = len(rows)
        causal = torch.arange(S, device=probs.device)[None, :] <= rows[:, None]
        allowed = causal[None].expand(B, R, S)
        if sparse and S > INDEX_TOPK and torch.is_tensor(got.get('selected')):
            picked = torch.zeros(B, R, S, dtype=torch.bool, device=probs.device)
            picked.scatter_(-1, got['selected'][:, rows].long().clamp(0, S - 1), True)
            allowed = allowed & picked
        target = probs * allowed
        target = target / target.sum(-1, keepdim=True).clamp_min(1e-9)
        scores = index_scores(layer.self_attn.indexer, config, got['x'], got['q_latent'], tables, rows)
        logq = torch.log_softmax(scores.masked_fill(~allowed, float('-inf')), dim=-1).masked_fill(~allowed, 0.0)
        kl = (target * (torch.log(target.clamp_min(1e-12)) - logq)).sum(-1)
        loss = kl.mean()
        if backward:
            (loss / len(hooks.layers)).backward()
            loss = loss.detach()
        losses.append(loss)
        if sparse and torch.is_tensor(got.get('selected')) and S > INDEX_TOPK and rows[-1] >= INDEX_TOPK:
            with torch.no_grad():  # do our scores pick what transformers' indexer picked? (last query row)
                ours = scores[:, -1].topk(INDEX_TOPK, dim=-1).indices
                theirs = got['selected'][:, rows[-1]].long()
                same = (ours[:, :, None] == theirs[:, None, :]).any(-1).float().mean()
                agreement.append(same.item())
    return torch.stack(losses).mean(), (sum(agreement) / len(agreement) if agreement else None)


@torch.no_grad()
def balance_routers(hooks, config, rate=1e-3):
    """noaux_tc balance: raise the bias of under-loaded experts, lower it for over-loaded ones."""
    E, G, k = config.n_routed_experts, config.n_group, config.num_experts_per_tok
    for i, layer in enumerate(hooks.layers):
        h = hooks.captured.get(i, {}).get('router_in')
        if h is None:
            continue
        gate = layer.mlp.gate
        h = h.reshape(-1, h.shape[-1]).float()
        scores = torch.sigmoid(h @ gate.weight.float().t()) + gate.e_score_correction_bias.float()
        group = scores.view(-1, G, E // G).topk(2, dim=-1).values.sum(-1)
        keep = torch.zeros_like(group).scatter_(1, group.topk(config.topk_group, dim=-1).indices, 1.0)
        masked = scores.masked_fill(~keep.bool().repeat_interleave(E // G, dim=1), float('-inf'))
        load = torch.bincount(masked.topk(k, dim=-1).indices.flatten(), minlength=E).float()
        gate.e_score_correction_bias += rate * torch.sign(load.mean() - load)
