// Runs a checkpoint's golden sequences through the WebGPU forward pass — prefill of the prompt, then teacher-
// forced decode of `decode_ids` one token at a time over the latent cache — and measures agreement with the
// logits transformers computed. Shared by `npm run verify` and the golden tests.
import { DeepseekForward, type AttentionMode } from '../model/forward';
import type { WeightDtype } from '../weights/gpu-weight';
import type { TensorSource } from '../weights/tensor-source';
import { readGolden } from '../weights/golden';
import { badCheckpoint } from '../errors';
import { LogitComparison, type LogitMetrics } from './logit-metrics';

export interface VerifyOptions {
  source: TensorSource;
  goldenPath: string;
  weights: WeightDtype;
  attention: AttentionMode;
}

export interface VerifyReport {
  checkpoint: string;
  weights: WeightDtype;
  attention: AttentionMode;
  prefill: LogitMetrics;
  decode: LogitMetrics;
  pass: boolean;
}

/** Pass thresholds. f32: the 5e-3 on every logit. f16: the model changes by rounding its weights, so
 *  the bar is distributional (what rounding to f16 does inside transformers itself, measured in the README). */
export const PASS_THRESHOLDS = {
  f32: { maxAbsErr: 5e-3 },
  f16: { minTop1Agree: 0.98, maxMeanKL: 5e-3 },
} as const;

export async function verifyCheckpoint(device: GPUDevice, options: VerifyOptions): Promise<VerifyReport> {
  const { source, weights, attention } = options;
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
  const model = await DeepseekForward.create(device, source, { weights, maxContext: Math.max(longest, 16) });
  const prefill = new LogitComparison(vocab);
  const decode = new LogitComparison(vocab);
  for (const seq of golden.sequences) {
    model.reset();
    const prefillRef = denseGolden ? seq.prefillLogitsDense! : seq.prefillLogits;
    const decodeRef = denseGolden ? seq.decodeLogitsDense! : seq.decodeLogits;
    prefill.add(await model.prefill(seq.inputIds, { attention }), prefillRef, seq.inputIds.length);
    for (let i = 0; i < seq.decodeIds.length; i++) {
      const logits = await model.decode(seq.decodeIds[i], { attention });
      decode.add(logits, decodeRef.subarray(i * vocab, (i + 1) * vocab), 1);
    }
  }
  const result = { prefill: prefill.result(), decode: decode.result() };
  return {
    checkpoint: source.description,
    weights,
    attention: indexed ? attention : 'dense',
    ...result,
    pass: passes(weights, result.prefill) && passes(weights, result.decode),
  };
}

function passes(weights: WeightDtype, m: LogitMetrics): boolean {
  if (weights === 'f32') return m.maxAbsErr <= PASS_THRESHOLDS.f32.maxAbsErr;
  return m.top1Agree >= PASS_THRESHOLDS.f16.minTop1Agree && m.meanKL <= PASS_THRESHOLDS.f16.maxMeanKL;
}
