// The committed trained model (q8, f16 embedding and lm_head of 6 MiB each) loaded with its weight buffers capped
// at 2 MiB: the embedding and lm_head split into four parts (the last of 2 rows), the up-front manifest check
// (weights/buffer-limits.ts) agrees with what the loader does, and the model's logits and greedy answer to a
// held-out prompt are exactly those of the model loaded in whole buffers. Below the size of a layer's stacked
// experts both the manifest check and the loader refuse with ADAPTER_LIMITS.
import { describe, expect, it } from 'vitest';
import { isEngineError } from '../../engine/errors';
import { DeepseekForward } from '../../engine/model/forward';
import { generateGreedy } from '../../engine/model/greedy';
import { openPackage } from '../../engine/package/package-node';
import { checkBufferLimits } from '../../engine/weights/buffer-limits';
import { weightParts } from '../../engine/weights/split-weight';
import { testDevice } from '../support/gpu';
import { readReferences, TRAINED_MODEL_DIR } from '../support/trained-model';

const CAP = 2 * 2 ** 20;

async function load(maxWeightBufferBytes?: number): Promise<DeepseekForward> {
  const { device } = await testDevice();
  const { manifest, source } = await openPackage(TRAINED_MODEL_DIR);
  return DeepseekForward.create(device, source, { weights: manifest.quantisation.plan, maxContext: 256, maxRows: 16, maxWeightBufferBytes });
}

describe('the trained model in buffers of at most 2 MiB', () => {
  it('splits the embedding and lm_head and answers exactly as in whole buffers', async () => {
    const { manifest } = await openPackage(TRAINED_MODEL_DIR);
    expect(() => checkBufferLimits(manifest.name, manifest.tensors, CAP)).not.toThrow();
    const { references } = await readReferences();
    const prompt = references[0].prompt_ids;
    const answers: number[][] = [];
    const logits: Float32Array[] = [];
    for (const cap of [CAP, undefined]) {
      const model = await load(cap);
      const parts = weightParts(model.weights.lmHead).map((part) => part.weight.shape[0]);
      expect(parts).toEqual(cap ? [2730, 2730, 2730, 2] : [8192]);
      expect(weightParts(model.weights.embedTokens)).toHaveLength(parts.length);
      logits.push(await model.prefill(prompt));
      model.reset();
      answers.push(await generateGreedy(model, prompt, { maxNewTokens: 12 }));
    }
    expect(Array.from(logits[0])).toEqual(Array.from(logits[1]));
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toEqual(references[0].answer_ids.slice(0, answers[0].length));
  });

  it('refuses, before and while loading, a cap below a layer\'s stacked experts', async () => {
    const { manifest } = await openPackage(TRAINED_MODEL_DIR);
    const cap = 1.5 * 2 ** 20;
    expect(() => checkBufferLimits(manifest.name, manifest.tensors, cap)).toThrow(/experts\.gate_up/);
    const error = await load(cap).then(() => null, (e: unknown) => e);
    expect(isEngineError(error, 'ADAPTER_LIMITS')).toBe(true);
    expect((error as Error).message).toMatch(/experts\.gate_up needs one buffer of \d+ bytes/);
  });
});
