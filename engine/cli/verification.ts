// Runs a checkpoint's golden sequences through the WebGPU forward pass — prefill of the prompt, then teacher-
// forced decode of `decode_ids` one token at a time over the latent cache — and measures agreement with the
// logits transformers computed, per phase and over all positions together. Shared by `npm run verify` and the
// golden tests; pass-bars.ts says what passes.
import type { AttentionKernel } from '../model/scratch';
import type { MatvecKind } from '../kernels/matvec-shape';
import { basename } from 'node:path';
import { DeepseekForward, type AttentionMode } from '../model/forward';
import type { StorageDtype } from '../weights/quant';
import type { TensorSource } from '../weights/tensor-source';
import { coarsestFormat, describePlan, weightPlan, type WeightPlan } from '../weights/weight-plan';
import { readGolden } from '../weights/golden';
import { badCheckpoint } from '../errors';
import { LogitComparison, type LogitMetrics } from './logit-metrics';
import { meetsBar, passBar, PASS_THRESHOLDS, type PassBar } from './pass-bars';

export { PASS_THRESHOLDS };

export interface VerifyOptions {
  source: TensorSource;
  goldenPath: string;
  weights: WeightPlan | StorageDtype; // a plan, or a format's default plan
  attention: AttentionMode;
  /** Picks the quantised bar of a known fixture; default the basename of source.description. */
  checkpointName?: string;
  /** Caps one weight buffer below the device's limits, so bigger tensors are split (ForwardOptions). */
  maxWeightBufferBytes?: number;
  /** Attention kernel, by adapter kind unless given (tests run the GPU layout on CPU adapters too). */
  attentionKernel?: AttentionKernel;
  /** Every kernel's layout as on this adapter kind (ForwardOptions.kernelLayout). */
  kernelLayout?: MatvecKind;
  /** false: no subgroup operations even where the device has them (ForwardOptions.subgroups). */
  subgroups?: boolean;
}

export interface VerifyReport {
  checkpoint: string;
  weights: StorageDtype; // the matrices' format
  plan: string; // describePlan
  attention: AttentionMode;
  prefill: LogitMetrics;
  decode: LogitMetrics;
  all: LogitMetrics; // prefill and decode positions together
  bar: PassBar;
  pass: boolean;
}

export async function verifyCheckpoint(device: GPUDevice, options: VerifyOptions): Promise<VerifyReport> {
  const { source, attention } = options;
  const plan = typeof options.weights === 'string' ? weightPlan(options.weights) : options.weights;
  const golden = readGolden(options.goldenPath);
  const indexed = source.config.indexer !== null;
  const denseGolden = indexed && attention === 'dense';
  if (denseGolden && !golden.sequences.every((s) => s.prefillLogitsDense && s.decodeLogitsDense)) {
    throw badCheckpoint(`${options.goldenPath} (dense attention)`, 'seqN.prefill_logits_dense and seqN.decode_logits_dense for every sequence',
      'none', 'Make them with the indexer selecting every key, or verify with --attention sparse.');
  }
  const vocab = source.config.vocabSize;
  for (const seq of golden.sequences) {
    if (seq.vocab !== vocab) {
      throw badCheckpoint(`${options.goldenPath}: ${seq.name}`, `logits over the checkpoint's ${vocab}-token vocabulary`,
        `${seq.vocab} columns`, 'Is this golden file from another checkpoint?');
    }
  }
  const longest = Math.max(...golden.sequences.map((s) => s.inputIds.length + s.decodeIds.length));
  const model = await DeepseekForward.create(device, source, {
    weights: plan, maxContext: Math.max(longest, 16), maxWeightBufferBytes: options.maxWeightBufferBytes,
    attentionKernel: options.attentionKernel, kernelLayout: options.kernelLayout, subgroups: options.subgroups,
  });
  const prefill = new LogitComparison(vocab);
  const decode = new LogitComparison(vocab);
  const all = new LogitComparison(vocab);
  for (const seq of golden.sequences) {
    model.reset();
    const prefillRef = denseGolden ? seq.prefillLogitsDense! : seq.prefillLogits;
    const decodeRef = denseGolden ? seq.decodeLogitsDense! : seq.decodeLogits;
    const prefillLogits = await model.prefill(seq.inputIds, { attention });
    prefill.add(prefillLogits, prefillRef, seq.inputIds.length);
    all.add(prefillLogits, prefillRef, seq.inputIds.length);
    for (let i = 0; i < seq.decodeIds.length; i++) {
      const logits = await model.decode(seq.decodeIds[i], { attention });
      const ref = decodeRef.subarray(i * vocab, (i + 1) * vocab);
      decode.add(logits, ref, 1);
      all.add(logits, ref, 1);
    }
  }
  const result = { prefill: prefill.result(), decode: decode.result(), all: all.result() };
  const bar = passBar(coarsestFormat(plan), options.checkpointName ?? basename(source.description));
  return {
    checkpoint: source.description,
    weights: plan.dtype,
    plan: describePlan(plan),
    attention: indexed ? attention : 'dense',
    ...result,
    bar,
    pass: meetsBar(bar, result),
  };
}
