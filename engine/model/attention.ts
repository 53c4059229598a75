// One layer's Multi-head Latent Attention as a list of kernel calls (doc §3, §6, §10 step 2b-2f), from the
// residual stream `scratch.hidden`: its input RMSNorm (inside the q/kv_a pair dispatch where the formats allow one,
// which also leaves x in `scratch.normed`; otherwise a dispatch of its own), and o_proj added back into
// `scratch.hidden` (the residual add inside the projection). Both prefill chunks and decode use the
// weight-absorbed form over the latent cache: the new rows' latents are appended first, then every query row t
// attends to cached keys u <= pos0 + t. For V3.2 the indexer keys are always appended (so sparse attention can
// score them later), inside the query absorption's dispatch where the device allows; the top-k selection is a
// separate call list, encoded only in sparse mode, between the absorption and the attention.
import type { ModelConfig } from '../config';
import { byRows, type GpuContext, type KernelCall } from '../gpu/context';
import { indexerSelect, type IndexerKeyAppendArgs } from '../kernels/indexer';
import { linear } from '../kernels/linear';
import { linearPair, projectionsPair, projectionsTriple } from '../kernels/linear-pair';
import { mlaAttention, mlaCombine, mlaQueryAbsorb, mlaValueUp } from '../kernels/mla';
import { mlaAttentionHeads } from '../kernels/mla-heads';
import { mlaCombineValueUp } from '../kernels/mla-combine-value-up';
import { rmsNorm } from '../kernels/rms-norm';
import { mlaSoftmaxScale } from './rope';
import type { Scratch } from './scratch';
import type { LayerWeights } from './weights';
import { oneBuffer } from '../weights/split-weight';

export interface AttentionCalls {
  /**
   * Input norm and the query and latent projections (one pair dispatch where possible); with query LoRA q_b_proj
   * with q_a_layernorm inside (beside the indexer's wq_b where they pair); the indexer's wk and weights_proj (inside
   * the first pair's dispatch where it can take them).
   */
  project: KernelCall[];
  /** Query absorption with the latent append (and the indexer key append for V3.2). */
  absorb: KernelCall;
  /** DSA top-k selection (and wq_b when it could not pair); encoded only when sparse attention is active for the step. */
  select: KernelCall[];
  /**
   * Absorbed attention over the cache (split over workgroups, then combined), value up-projection and o_proj added
   * into scratch.hidden; GPU-layout decode combines the shares inside the value up-projection's dispatch.
   */
  attend: KernelCall[];
}

export function attentionCalls(ctx: GpuContext, config: ModelConfig, layer: number, weights: LayerWeights,
  scratch: Scratch, ropeTable: GPUBuffer): AttentionCalls {
  const { numHeads: nH, qkNopeHeadDim: dN, qkRopeHeadDim: dR, vHeadDim: dV, kvLoraRank: rKV } = config;
  const eps = config.rmsNormEps;
  // q_proj (or q_a_proj) and kv_a_proj_with_mqa both read x: one pair dispatch, with the input norm inside, where
  // the formats and the device's storage-buffer limit allow.
  const queryFirst = { weight: weights.queryProj ?? weights.queryDown!, output: weights.queryProj ? scratch.query : scratch.queryLatent };
  const kvDown = { weight: weights.kvDown, output: scratch.kvLatentRaw };
  const [queryOne, kvDownOne] = [oneBuffer(queryFirst.weight), oneBuffer(kvDown.weight)];
  const inputNorm = { weight: weights.inputNorm, eps, normed: scratch.normed };
  // V3.2: the indexer's wk and weights_proj (f32) read the same normed x, in the pair's dispatch where it can take them.
  const ix = config.indexer && weights.indexer ? scratch.indexer : undefined;
  const indexerKeyOne = ix && weights.indexer ? oneBuffer(weights.indexer.keyAndWeights) : null;
  const indexerKey = ix && indexerKeyOne && queryOne && kvDownOne && projectionsTriple(ctx, queryOne, kvDownOne, indexerKeyOne)
    ? { weight: indexerKeyOne, output: ix.keyAndWeights } : undefined;
  const project: KernelCall[] = queryOne && kvDownOne && projectionsPair(ctx, queryOne, kvDownOne, true)
    ? [linearPair(ctx, scratch.hidden, { ...queryFirst, weight: queryOne }, { ...kvDown, weight: kvDownOne }, inputNorm, indexerKey)]
    : [
      rmsNorm(ctx, { dim: config.hiddenSize, eps, hidden: scratch.hidden, weight: weights.inputNorm, out: scratch.normed }),
      linear(ctx, { input: scratch.normed, ...queryFirst }), linear(ctx, { input: scratch.normed, ...kvDown }),
    ];
  // Query LoRA: q_b_proj reads the query latent with q_a_layernorm inside its dispatch (which leaves the normed
  // latent in scratch.queryLatentNormed), paired with the indexer's wq_b, which reads the same normed latent, where
  // their formats allow one dispatch. Dense steps then compute the indexer queries too (a small projection) rather
  // than run a dispatch of their own for q_b_proj.
  let indexerQueries: KernelCall | undefined;
  if (!weights.queryProj) {
    const queryNorm = { weight: weights.queryNorm!, eps, normed: scratch.queryLatentNormed };
    const queryUp = { weight: weights.queryUp!, output: scratch.query };
    const [queryUpOne, indexerUpOne] = [oneBuffer(queryUp.weight), weights.indexer ? oneBuffer(weights.indexer.queryUp) : null];
    if (ix && queryUpOne && indexerUpOne && projectionsPair(ctx, queryUpOne, indexerUpOne, true)) {
      project.push(linearPair(ctx, scratch.queryLatent, { ...queryUp, weight: queryUpOne }, { weight: indexerUpOne, output: ix.queries }, queryNorm));
    } else {
      project.push(linear(ctx, { input: scratch.queryLatent, ...queryUp, norm: queryNorm }));
      if (ix && weights.indexer) indexerQueries = linear(ctx, { input: scratch.queryLatentNormed, weight: weights.indexer.queryUp, output: ix.queries });
    }
  }

  const select: KernelCall[] = [];
  let selected: Parameters<typeof mlaAttention>[1]['selected'];
  let indexerAppend: IndexerKeyAppendArgs | undefined;
  if (config.indexer && weights.indexer && ix) {
    const { nHeads: nI, headDim: dI, topk } = config.indexer;
    if (!indexerKey) project.push(linear(ctx, { input: scratch.normed, weight: weights.indexer.keyAndWeights, output: ix.keyAndWeights }));
    indexerAppend = {
      keyAndWeights: ix.keyAndWeights, nI, dI, dR, normWeight: weights.indexer.keyNormWeight,
      normBias: weights.indexer.keyNormBias, eps: 1e-6, ropeTable, indexerCache: ix.keyCache[layer],
    };
    if (indexerQueries) select.push(indexerQueries);
    select.push(
      ...indexerSelect(ctx, {
        queries: ix.queries, keyAndWeights: ix.keyAndWeights, indexerCache: ix.keyCache[layer], nI, dI, dR, ropeTable,
        topk, maxContext: scratch.maxContext, scores: ix.scores, indices: ix.indices, counts: ix.counts,
      }),
    );
    selected = { indices: ix.indices, counts: ix.counts, topk };
  }

  const attentionArgs = {
    qAbs: scratch.queryAbsorbed, latentCache: scratch.latentCache[layer], nH, rKV, dR, scale: mlaSoftmaxScale(config),
    maxContext: scratch.maxContext, output: scratch.attentionLatent, selected,
  };
  const decode = (rows: number) => rows === 1;
  // The latent append rides in the query absorption's dispatch (the attention after it reads the new rows).
  const absorb = mlaQueryAbsorb(ctx, {
    q: scratch.query, kvB: weights.kvUp, nH, dN, dR, dV, rKV, ropeTable, qAbs: scratch.queryAbsorbed,
    append: { kva: scratch.kvLatentRaw, normWeight: weights.kvNorm, eps, latentCache: scratch.latentCache[layer] },
    indexerAppend,
  });
  const valueUp = mlaValueUp(ctx, { attnLatent: scratch.attentionLatent, kvB: weights.kvUp, nH, dN, dV, rKV, output: scratch.attentionOut });
  let attention: KernelCall[];
  if (scratch.attentionHeads) {
    // GPUs: heads share each key read; decode cuts a row's keys into many shares, prefill into a few. Decode merges
    // each head's shares inside the value up-projection (one dispatch fewer a layer; rKV even, as in every
    // DeepSeek config); prefill chunks combine, then run the tiled product.
    const decodeValueUp = rKV % 2 === 0
      ? mlaCombineValueUp(ctx, { nH, dN, dV, rKV, shares: scratch.attentionHeads.decode, selected, kvB: weights.kvUp, output: scratch.attentionOut })
      : null;
    const [decodeAttention, decodeCombine] = mlaAttentionHeads(ctx, { ...attentionArgs, shares: scratch.attentionHeads.decode, combine: !decodeValueUp });
    const [chunkAttention, chunkCombine] = mlaAttentionHeads(ctx, { ...attentionArgs, shares: scratch.attentionHeads.prefill });
    attention = [
      byRows(decode, decodeAttention, [chunkAttention]),
      ...(decodeValueUp ? [byRows(decode, decodeValueUp, [chunkCombine, valueUp])] : [byRows(decode, decodeCombine, [chunkCombine]), valueUp]),
    ];
  } else {
    // CPU adapters: a workgroup per head; decode splits each head's keys over attentionSplit.splits workgroups,
    // then combines the shares; steps of several rows already have NH x rows workgroups.
    const split = scratch.attentionSplit;
    attention = [
      byRows(decode, mlaAttention(ctx, { ...attentionArgs, split }), [mlaAttention(ctx, attentionArgs)]),
      byRows(decode, mlaCombine(ctx, { nH, rKV, split, output: scratch.attentionLatent }), []),
      valueUp,
    ];
  }
  const attend: KernelCall[] = [
    ...attention,
    linear(ctx, { input: scratch.attentionOut, weight: weights.outProj, output: scratch.hidden, accumulate: true }),
  ];
  return { project, absorb, select, attend };
}
