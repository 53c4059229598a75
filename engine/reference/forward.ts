// The float64 reference forward pass of DeepSeek V2 / V3 / V3.2 (deepseek-math.md §10), built only from the
// reference ops, with the same caches a browser engine keeps: per layer a latent cache [L, rKV+dR] (RMS-normed
// latent c, then the rotated shared RoPE key kR) and, for V3.2, the indexer key cache [L, dI]. Attention always
// uses the absorbed form over the latent cache, so prefill and decode run the same code; prompt rows are
// token-parallel with a causal mask. V3.2 runs sparse attention (the indexer's top-k keys per query) unless
// `attention: 'dense'` is asked for; indexer keys are cached either way. Logits come back [T, V] row-major.
// `onRoute` observes every MoE routing decision (expert-reduction statistics); `runLayer` lets a caller stream one
// layer's weights at a time instead of loading the whole model (engine/reference/layer-stream.ts).

import type { ModelConfig } from '../config';
import { buildRopeTable, mlaSoftmaxScale } from '../model/rope';
import type { TensorSource } from '../weights/tensor-source';
import type { AttentionWeights, LayerWeights, ModelWeights, MoeWeights } from './forward-weights';
import { loadModelWeights } from './forward-weights';
import { GrowingRows, addInPlace, swiGluFfn } from './forward-parts';
import {
  embedding,
  indexerScores,
  layerNorm,
  linear,
  mlaAttentionAbsorbed,
  rmsNorm,
  ropeAdjacent,
  ropeHalf,
  routeExperts,
  topkSelect,
} from './ops';
import type { ExpertRoute } from './ops-routing';

export interface ReferenceForwardOptions {
  /** V3.2 only: 'sparse' (default) masks MLA to the indexer's top-k keys; 'dense' attends to every causal key. */
  attention?: 'sparse' | 'dense';
  /** Called for each token an MoE layer routes: the layer, the token's row in this call, the experts chosen and
   *  the weights the model applies to them (after normalisation and routed_scaling_factor). */
  onRoute?: (layer: number, row: number, route: ExpertRoute) => void;
}

/** The indexer's LayerNorm eps: fixed in the model code (nn.LayerNorm(dI, eps=1e-6)), not in config.json. */
const INDEXER_NORM_EPS = 1e-6;

/** The T new tokens one `extend` call feeds through a layer: x [T, H] is the normalised attention input. */
interface LayerStep {
  layer: number;
  x: Float64Array; // [T, H]
  T: number;
  pos0: number; // absolute position of row 0
}

export class ReferenceModel {
  private latentCaches: GrowingRows[]; // per layer [L, rKV+dR]
  private indexerKeyCaches: GrowingRows[]; // per layer [L, dI] (V3.2)
  // cos/sin [positions, dR/2] each, grown on demand
  private rope: { cos: Float32Array; sin: Float32Array; positions: number } = {
    cos: new Float32Array(0),
    sin: new Float32Array(0),
    positions: 0,
  };
  readonly softmaxScale: number; // τ

  private constructor(
    readonly config: ModelConfig,
    private readonly modelWeights: ModelWeights | null,
  ) {
    this.softmaxScale = mlaSoftmaxScale(config);
    this.latentCaches = [];
    this.indexerKeyCaches = [];
    this.reset();
  }

  static async load(source: TensorSource): Promise<ReferenceModel> {
    return new ReferenceModel(source.config, await loadModelWeights(source));
  }

  /** A model holding only caches: the caller passes each layer's weights to `runLayer` (layer streaming). */
  static withoutWeights(config: ModelConfig): ReferenceModel {
    return new ReferenceModel(config, null);
  }

  get weights(): ModelWeights {
    if (!this.modelWeights) throw new Error('ReferenceModel.withoutWeights: only runLayer can be used');
    return this.modelWeights;
  }

  /** Cached tokens (the position the next token gets). */
  get length(): number {
    return this.latentCaches[0].rows;
  }

  /** Layer `layer`'s latent cache [L, rKV+dR]: normalised c, then the rotated kR (interleaved pairs). */
  latentCache(layer: number): Float64Array {
    return this.latentCaches[layer].view();
  }

  /** Layer `layer`'s V3.2 indexer key cache [L, dI] (LayerNorm then half-split RoPE on the first dR dims). */
  indexerKeys(layer: number): Float64Array {
    return this.indexerKeyCaches[layer].view();
  }

  /** Forget every cached token. */
  reset(): void {
    const c = this.config;
    this.latentCaches = Array.from({ length: c.numLayers }, () => new GrowingRows(c.kvLoraRank + c.qkRopeHeadDim));
    this.indexerKeyCaches = Array.from({ length: c.numLayers }, () => new GrowingRows(c.indexer?.headDim ?? 0));
  }

  /** A new sequence: clears the caches, runs the prompt from position 0, returns logits [T, V]. */
  prefill(ids: ArrayLike<number>, opts: ReferenceForwardOptions = {}): Float64Array {
    this.reset();
    return this.extend(ids, opts);
  }

  /** Feeds one token after the cached ones; returns its logits [V]. */
  decode(id: number, opts: ReferenceForwardOptions = {}): Float64Array {
    return this.extend([id], opts);
  }

  /** Feeds tokens after the cached ones (chunked prefill); logits [T, V]. */
  extend(ids: ArrayLike<number>, opts: ReferenceForwardOptions = {}): Float64Array {
    const c = this.config;
    const H = c.hiddenSize;
    const T = ids.length;
    const pos0 = this.length;
    this.ensureRope(pos0 + T);
    const hidden = embedding(this.weights.embedTokens, ids, H); // [T, H] residual stream
    this.weights.layers.forEach((layer, l) => this.runLayer(l, layer, hidden, T, pos0, opts));
    const normed = rmsNorm(hidden, this.weights.finalNorm, T, H, c.rmsNormEps);
    return linear(normed, this.weights.lmHead, T, c.vocabSize, H);
  }

  /** Decoder layer `l` on T new tokens at positions pos0.. (appended to its caches): hidden [T, H] in place. */
  runLayer(l: number, layer: LayerWeights, hidden: Float64Array, T: number, pos0: number, opts: ReferenceForwardOptions = {}): void {
    const H = this.config.hiddenSize;
    const y = this.runAttention(l, layer, hidden, T, pos0, opts);
    addInPlace(hidden, layer.denseFfn ? swiGluFfn(y, layer.denseFfn, T, H) : this.moe(l, layer.moe!, y, T, opts));
  }

  /** The attention half of layer `l`: adds MLA's output into hidden [T, H] and returns the FFN input
   *  y = post_attention_layernorm(hidden) [T, H]; the caller adds the FFN (layer streaming runs the MoE itself). */
  runAttention(l: number, layer: LayerWeights, hidden: Float64Array, T: number, pos0: number, opts: ReferenceForwardOptions = {}): Float64Array {
    const c = this.config;
    const H = c.hiddenSize;
    this.ensureRope(pos0 + T);
    const x = rmsNorm(hidden, layer.inputNorm, T, H, c.rmsNormEps);
    addInPlace(hidden, this.attention({ layer: l, x, T, pos0 }, layer.attention, opts));
    return rmsNorm(hidden, layer.postAttentionNorm, T, H, c.rmsNormEps);
  }

  private ensureRope(positions: number): void {
    if (positions <= this.rope.positions) return;
    const size = Math.max(positions, this.config.maxPositionEmbeddings, 2 * this.rope.positions);
    this.rope = { ...buildRopeTable(this.config, size), positions: size };
  }

  /** MLA for the step's T tokens (appended to the caches first): x [T, H] → o_proj output [T, H]. */
  private attention(step: LayerStep, w: AttentionWeights, opts: ReferenceForwardOptions): Float64Array {
    const { layer: l, x, T, pos0 } = step;
    const c = this.config;
    const [H, nH, rKV] = [c.hiddenSize, c.numHeads, c.kvLoraRank];
    const [dN, dR, dV] = [c.qkNopeHeadDim, c.qkRopeHeadDim, c.vHeadDim];
    const dQK = dN + dR;
    const { cos, sin } = this.rope;
    // Query [T, nH, dN+dR]; the query latent c_Q [T, rQ] also feeds the V3.2 indexer.
    let q: Float64Array;
    let queryLatent: Float64Array | null = null;
    if (w.qProj) {
      q = linear(x, w.qProj, T, nH * dQK, H);
    } else {
      const rQ = c.qLoraRank!;
      queryLatent = rmsNorm(linear(x, w.qAProj!, T, rQ, H), w.qANorm!, T, rQ, c.rmsNormEps);
      q = linear(queryLatent, w.qBProj!, T, nH * dQK, rQ);
    }
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < nH; h++) ropeAdjacent(q, (t * nH + h) * dQK + dN, dR, cos, sin, pos0 + t);
    }
    // Latent and shared RoPE key: a = kv_a·x [T, rKV+dR]; the RMSNorm covers the rKV latent dims only.
    const a = linear(x, w.kvAProj, T, rKV + dR, H);
    for (let t = 0; t < T; t++) {
      const row = a.slice(t * (rKV + dR), (t + 1) * (rKV + dR));
      row.set(rmsNorm(row.subarray(0, rKV), w.kvANorm, 1, rKV, c.rmsNormEps), 0);
      ropeAdjacent(row, rKV, dR, cos, sin, pos0 + t);
      this.latentCaches[l].append(row);
    }
    let allowed: ((t: number, u: number) => boolean) | undefined;
    if (w.indexer) {
      const selected = this.indexer(step, w, queryLatent!, opts.attention !== 'dense');
      if (selected) allowed = (t, u) => selected[t].has(u);
    }
    const heads = mlaAttentionAbsorbed({
      q, latentCache: this.latentCaches[l].view(), kvB: w.kvBProj,
      T, nH, dN, dR, dV, rKV, pos0, scale: this.softmaxScale, allowed,
    }); // [T, nH·dV]
    return linear(heads, w.oProj, T, H, nH * dV);
  }

  /**
   * V3.2 lightning indexer: caches the T new indexer keys and, when `sparse`, returns per query row the set of
   * the top min(index_topk, causal count) cached key positions (null when dense).
   */
  private indexer(
    step: LayerStep,
    w: AttentionWeights,
    queryLatent: Float64Array, // [T, rQ]
    sparse: boolean,
  ): Set<number>[] | null {
    const { layer: l, x, T, pos0 } = step;
    const c = this.config;
    const { nHeads: nI, headDim: dI, topk } = c.indexer!;
    const iw = w.indexer!;
    const [H, dR, rQ] = [c.hiddenSize, c.qkRopeHeadDim, c.qLoraRank!];
    const { cos, sin } = this.rope;
    const projected = linear(x, iw.wk, T, dI, H);
    const keys = layerNorm(projected, iw.kNormWeight, iw.kNormBias, T, dI, INDEXER_NORM_EPS); // [T, dI]
    for (let t = 0; t < T; t++) {
      ropeHalf(keys, t * dI, dR, cos, sin, pos0 + t);
      this.indexerKeyCaches[l].append(keys.subarray(t * dI, (t + 1) * dI));
    }
    if (!sparse) return null;
    const qI = linear(queryLatent, iw.wqB, T, nI * dI, rQ); // [T, nI, dI]
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < nI; j++) ropeHalf(qI, (t * nI + j) * dI, dR, cos, sin, pos0 + t);
    }
    const headWeights = linear(x, iw.weightsProj, T, nI, H); // [T, nI]
    const cache = this.indexerKeyCaches[l];
    const L = cache.rows;
    const scores = indexerScores({ qI, kI: cache.view(), w: headWeights, T, nI, dI, L, pos0 }); // [T, L]
    // Row t may only pick among its pos0+t+1 causal keys (HF's masked fillers never survive the causal mask).
    return Array.from({ length: T }, (_, t) => {
      const row = scores.subarray(t * L, (t + 1) * L);
      return new Set(topkSelect(row, pos0 + t + 1, topk));
    });
  }

  /** MoE FFN: per token route (float64 router), Σ w_e·expert_e(x) + shared experts(x). y [T, H] → [T, H]. */
  private moe(l: number, w: MoeWeights, y: Float64Array, T: number, opts: ReferenceForwardOptions): Float64Array {
    const c = this.config;
    const H = c.hiddenSize;
    const out = new Float64Array(T * H);
    for (let t = 0; t < T; t++) {
      const token = y.subarray(t * H, (t + 1) * H);
      const route = routeExperts(linear(token, w.router, 1, c.nRoutedExperts, H), w.scoreBias, c);
      opts.onRoute?.(l, t, route);
      const row = out.subarray(t * H, (t + 1) * H);
      route.ids.forEach((e, i) => {
        const expertOut = swiGluFfn(token, w.routedExperts[e], 1, H);
        for (let d = 0; d < H; d++) row[d] += route.weights[i] * expertOut[d];
      });
      if (w.sharedExperts) addInPlace(row, swiGluFfn(token, w.sharedExperts, 1, H));
    }
    return out;
  }
}
