// Prefill and decode figures of one model at one context length and attention mode, through the real generation
// loop (engine/generate/generator.ts: one submit per decode token, only the sampled id read back, steps behind).
// The cache is not prefilled token by token: every layer's latent cache (and indexer key cache) is filled once with
// random rows on the GPU (fillCaches); a run sets model.position to context - P and prefills a prompt of
// P = min(context, 2048) tokens on top, then decodes `decodeTokens` more. Decode ms/token is the median gap between
// sampled ids; dispatches and submits per token are what the generation loop counted as it issued them, and the CPU
// time it spent encoding and submitting each step (a decode step is CPU-bound when that comes near ms/token).
import type { ModelConfig } from '../engine/config';
import { generate } from '../engine/generate/generator';
import { GREEDY } from '../engine/kernels/sample';
import type { AttentionMode, DeepseekForward } from '../engine/model/forward';
import { decodeKvBytes, decodeWeightBytes, sparseAt } from './decode-bytes';
import { GpuFiller } from './synthetic-weights';

export const PREFILL_PROMPT_MAX = 2048;

export interface DecodeRun {
  context: number; // cache length when decoding starts (prompt included)
  attention: AttentionMode;
  sparseActive: boolean; // whether the DSA selection ran (sparse mode and context > index_topk)
  prefillTokens: number;
  prefillMs: number;
  prefillTokensPerS: number;
  decodeTokens: number;
  decodeMsPerToken: number; // median
  decodeTokensPerS: number;
  weightBytesPerToken: number;
  kvBytesPerToken: number;
  achievedGBps: number; // (weight + kv bytes) / decode time per token
  ofCeiling: number; // achievedGBps / streaming-read ceiling
  dispatchesPerToken: number;
  submitsPerToken: number;
  encodeMsPerToken: number; // CPU time to encode and submit a decode step (overlaps the previous step's GPU work)
}

/** Random latent rows (and indexer keys) in every cache row, standing in for an already processed history. */
export async function fillCaches(model: DeepseekForward): Promise<void> {
  const filler = new GpuFiller(model.ctx.device);
  for (const buffer of model.scratch.latentCache) filler.fillF32(buffer, 0, 1.7);
  for (const buffer of model.scratch.indexer?.keyCache ?? []) filler.fillF32(buffer, 0, 1.7);
  await model.ctx.device.queue.onSubmittedWorkDone();
}

function promptIds(config: ModelConfig, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (i * 7919 + 13) % config.vocabSize);
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Modes worth running for this model: 'sparse' only exists with a DSA indexer. */
export function attentionModes(config: ModelConfig, requested: readonly AttentionMode[]): AttentionMode[] {
  return requested.filter((mode) => mode === 'dense' || config.indexer !== null);
}

/** Compiles and touches every path once (prefill chunk, decode, and the DSA selection where the cache allows). */
export async function warmUp(model: DeepseekForward, modes: readonly AttentionMode[]): Promise<void> {
  const { config } = model;
  for (const attention of modes) {
    const start = attention === 'sparse' && config.indexer ? config.indexer.topk + 1 : 0;
    const prompt = Math.min(model.scratch.maxRows + 1, model.scratch.maxContext - start - 4);
    if (prompt < 1) continue;
    model.position = start;
    await generate(model, promptIds(config, prompt), GREEDY, { maxNewTokens: 3, attention });
  }
  model.reset();
}

export async function decodeRun(model: DeepseekForward, context: number, attention: AttentionMode, decodeTokens: number,
  ceilingGBps: number, pipelineDepth?: 1 | 2): Promise<DecodeRun> {
  const { config } = model;
  const prompt = Math.min(context, PREFILL_PROMPT_MAX);
  model.position = context - prompt;
  const result = await generate(model, promptIds(config, prompt), GREEDY, { maxNewTokens: decodeTokens + 1, attention, pipelineDepth });
  const { stats } = result;
  if (stats.decodeSeries.length === 0) throw new Error(`no decode tokens at context ${context} (stop: ${result.stopReason})`);
  const decodeMs = median(stats.decodeSeries.map((point) => point.ms));
  const sparse = sparseAt(config, attention, context);
  const weightBytes = decodeWeightBytes(config, model.weights, sparse);
  const kvBytes = decodeKvBytes(config, context, sparse);
  const achievedGBps = (weightBytes + kvBytes) / (decodeMs / 1000) / 1e9;
  model.reset();
  return {
    context, attention, sparseActive: sparse, prefillTokens: prompt, prefillMs: stats.prefillMs,
    prefillTokensPerS: prompt / (stats.prefillMs / 1000), decodeTokens: stats.decodeTokens, decodeMsPerToken: decodeMs,
    decodeTokensPerS: 1000 / decodeMs, weightBytesPerToken: weightBytes, kvBytesPerToken: kvBytes, achievedGBps,
    ofCeiling: achievedGBps / ceilingGBps, dispatchesPerToken: stats.dispatchesPerDecodeToken,
    submitsPerToken: stats.submitsPerDecodeToken, encodeMsPerToken: stats.encodeMsPerDecodeToken,
  };
}
