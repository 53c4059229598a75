// Activation buffers of one model instance, sized for `maxRows` token rows per step (a prefill chunk; decode uses
// row 0) and the latent caches sized for `maxContext` tokens. Per token and layer the cache holds only the
// normalised latent c (rKV) and the rotated shared key kR (dR) — plus, for V3.2, the indexer key (dI) — never
// the expanded per-head keys and values.
import type { ModelConfig } from '../config';
import { createStorage } from '../gpu/buffers';
import { isCpuDevice } from '../gpu/device';
import { createExpertGroupBuffers, type ExpertGroupBuffers } from '../kernels/experts-grouped';
import { splitPartialsBytes, type MlaSplit } from '../kernels/mla';

/**
 * Workgroups per head in the per-head kernel's decode attention (CPU adapters, or a GPU told to use that kernel):
 * on GPUs 8 (16 heads x 8 = 128 workgroups, combined by one more small dispatch); on CPU adapters 1 (more
 * workgroups only add barrier switching). GPUs normally run the heads kernel, whose shares are headsSplits'.
 */
export const ATTENTION_SPLITS = { gpu: 8, cpu: 1 } as const;

/** Which attention kernel a model runs: heads sharing key reads (GPUs) or one head per workgroup (CPU adapters). */
export type AttentionKernel = 'heads' | 'per-head';

/** Bytes the prefill shares of the heads kernel may take; fewer shares per row when a model needs more. */
const PREFILL_SHARES_BYTES = 32 << 20;

/**
 * Shares per row of the heads kernel: decode about one workgroup per SM of a big GPU (128 for 16 heads: on an
 * H100 256 shares ran ~1.8x slower per share than 128 at 8k, as a share's registers keep two workgroups from
 * sharing an SM), prefill a few.
 */
export function headsSplits(nH: number, rKV: number, maxRows: number): { decode: number; prefill: number } {
  const decode = Math.min(128, Math.max(16, Math.floor(2048 / nH)));
  const prefill = Math.min(4, Math.max(1, Math.floor(PREFILL_SHARES_BYTES / splitPartialsBytes(maxRows, nH, rKV, 1))));
  return { decode, prefill };
}

export interface Scratch {
  maxRows: number;
  maxContext: number;
  tokenIds: GPUBuffer; // [maxRows] u32
  hidden: GPUBuffer; // [T, H] residual stream
  normed: GPUBuffer; // [T, H] input of the current sub-block
  queryLatent: GPUBuffer; // [T, rQ] q_a_proj output
  queryLatentNormed: GPUBuffer; // [T, rQ] c_Q
  query: GPUBuffer; // [T, nH, dN + dR]
  kvLatentRaw: GPUBuffer; // [T, rKV + dR] kv_a_proj_with_mqa output
  queryAbsorbed: GPUBuffer; // [T, nH, rKV + dR]
  attentionLatent: GPUBuffer; // [T, nH, rKV]
  attentionOut: GPUBuffer; // [T, nH * dV]
  /** Decode's split attention: its share count and the shares [1, nH, splits, rKV + 2] (mla.ts MlaSplit). */
  attentionSplit: MlaSplit;
  /** The heads kernel's shares (mla-heads.ts) for a decode row and a prefill chunk; null on the per-head kernel. */
  attentionHeads: { decode: MlaSplit; prefill: MlaSplit } | null;
  ffnHidden: GPUBuffer; // [T, max(intermediate, nShared × I)]
  routerLogits: GPUBuffer; // [T, E]
  expertIds: GPUBuffer; // [T, k] u32
  expertWeights: GPUBuffer; // [T, k]
  expertHidden: GPUBuffer; // [T, k·I + nShared·I]: routed activations, then the shared ones when fused
  /** The prefill path's routed experts grouped by expert (experts-grouped.ts); null where it does not run. */
  expertGroups: ExpertGroupBuffers | null;
  logits: GPUBuffer; // [T, V]
  nextToken: GPUBuffer; // [1] u32 argmax of the last row
  latentCache: GPUBuffer[]; // per layer [maxContext, rKV + dR]
  indexer: {
    queries: GPUBuffer; // [T, nI, dI]
    keyAndWeights: GPUBuffer; // [T, dI + nI]
    scores: GPUBuffer; // [T, maxContext]
    indices: GPUBuffer; // [T, topk] u32
    counts: GPUBuffer; // [T] u32
    keyCache: GPUBuffer[]; // per layer [maxContext, dI]
  } | null;
  bytes: number;
}

/**
 * `groupedExperts`: allocate the grouped routed experts' buffers (steps of several rows on the tiled-matmul path);
 * ignored for models without routed experts.
 */
export function createScratch(device: GPUDevice, config: ModelConfig, maxRows: number, maxContext: number,
  attentionKernel: AttentionKernel = isCpuDevice(device) ? 'per-head' : 'heads', groupedExperts = false): Scratch {
  let bytes = 0;
  const f32 = (elements: number, label: string) => {
    const buffer = createStorage(device, Math.max(1, elements) * 4, label);
    bytes += buffer.size;
    return buffer;
  };
  const { hiddenSize: h, numHeads: nH, qkNopeHeadDim: dN, qkRopeHeadDim: dR, vHeadDim: dV, kvLoraRank: rKV } = config;
  const k = config.numExpertsPerTok;
  const T = maxRows;
  const ix = config.indexer;
  const counted = (groups: ExpertGroupBuffers) => {
    bytes += groups.sortedSlots.size + groups.tiles.size + groups.slotOutputs.size;
    return groups;
  };
  const splits = ATTENTION_SPLITS[isCpuDevice(device) ? 'cpu' : 'gpu'];
  return {
    maxRows,
    maxContext,
    tokenIds: f32(T, 'token_ids'),
    hidden: f32(T * h, 'hidden'),
    normed: f32(T * h, 'normed'),
    queryLatent: f32(T * (config.qLoraRank ?? 0), 'query_latent'),
    queryLatentNormed: f32(T * (config.qLoraRank ?? 0), 'query_latent_normed'),
    query: f32(T * nH * (dN + dR), 'query'),
    kvLatentRaw: f32(T * (rKV + dR), 'kv_latent_raw'),
    queryAbsorbed: f32(T * nH * (rKV + dR), 'query_absorbed'),
    attentionLatent: f32(T * nH * rKV, 'attention_latent'),
    attentionOut: f32(T * nH * dV, 'attention_out'),
    attentionSplit: { splits, partials: f32(attentionKernel === 'heads' ? 0 : splitPartialsBytes(1, nH, rKV, splits) / 4, 'attention_partials') },
    attentionHeads: attentionKernel === 'heads' ? headsShares(nH, rKV, maxRows, f32) : null,
    ffnHidden: f32(T * Math.max(config.intermediateSize, config.nSharedExperts * config.moeIntermediateSize), 'ffn_hidden'),
    routerLogits: f32(T * config.nRoutedExperts, 'router_logits'),
    expertIds: f32(T * k, 'expert_ids'),
    expertWeights: f32(T * k, 'expert_weights'),
    expertHidden: f32(T * (k + config.nSharedExperts) * config.moeIntermediateSize, 'expert_hidden'),
    expertGroups: groupedExperts && config.nRoutedExperts > 0 ? counted(createExpertGroupBuffers(device, T, k, config.nRoutedExperts, h)) : null,
    logits: f32(T * config.vocabSize, 'logits'),
    nextToken: f32(1, 'next_token'),
    latentCache: Array.from({ length: config.numLayers }, (_, l) => f32(maxContext * (rKV + dR), `latent_cache.${l}`)),
    indexer: ix
      ? {
          queries: f32(T * ix.nHeads * ix.headDim, 'indexer_queries'),
          keyAndWeights: f32(T * (ix.headDim + ix.nHeads), 'indexer_key_and_weights'),
          scores: f32(T * maxContext, 'indexer_scores'),
          indices: f32(T * ix.topk, 'indexer_indices'),
          counts: f32(T, 'indexer_counts'),
          keyCache: Array.from({ length: config.numLayers }, (_, l) => f32(maxContext * ix.headDim, `indexer_cache.${l}`)),
        }
      : null,
    get bytes() {
      return bytes;
    },
  };
}

function headsShares(nH: number, rKV: number, maxRows: number, f32: (elements: number, label: string) => GPUBuffer) {
  const splits = headsSplits(nH, rKV, maxRows);
  return {
    decode: { splits: splits.decode, partials: f32(splitPartialsBytes(1, nH, rKV, splits.decode) / 4, 'attention_shares_decode') },
    prefill: { splits: splits.prefill, partials: f32(splitPartialsBytes(maxRows, nH, rKV, splits.prefill) / 4, 'attention_shares_prefill') },
  };
}
