// The quality of a reduced model (engine/convert/expert-reduction.ts) in the float64 CPU reference: top-1 agreement
// and mean KL against a golden file's transformers logits over all positions, prefill then teacher-forced decode.
import { LogitComparison } from '../../engine/cli/logit-metrics';
import { reduceExperts, type ExpertSelection } from '../../engine/convert/expert-reduction';
import { readGolden } from '../../engine/weights/golden';
import type { TensorSource } from '../../engine/weights/tensor-source';
import { ReferenceModel } from '../reference/forward';

/** Top-1 agreement and mean KL over all positions (prefill and decode) of the reduced model in the reference. */
export async function referenceQuality(
  source: TensorSource,
  selection: ExpertSelection,
  goldenPath: string,
): Promise<{ top1: number; meanKL: number }> {
  const model = await ReferenceModel.load(reduceExperts(source, selection));
  const golden = readGolden(goldenPath);
  const V = source.config.vocabSize;
  const all = new LogitComparison(V);
  for (const seq of golden.sequences) {
    all.add(model.prefill(seq.inputIds), seq.prefillLogits, seq.inputIds.length);
    seq.decodeIds.forEach((id, i) => all.add(model.decode(id), seq.decodeLogits.subarray(i * V, (i + 1) * V), 1));
  }
  const { top1Agree, meanKL } = all.result();
  return { top1: top1Agree, meanKL };
}

