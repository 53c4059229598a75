// Golden test with a forced small weight-buffer limit: tiny-v32 loaded with a buffer limit of 18,432 bytes (the
// largest tensor that cannot be split, the q4 stacked experts' gate_up [8, 64, 64], just fits) has its embedding
// and lm_head split across buffers by rows, still meets the q4 bar against transformers' logits, and gives exactly
// the logits of the same model with every tensor in one buffer (prefill and decode). Below that limit the load
// fails with ADAPTER_LIMITS naming the experts tensor.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QUANTISED_BARS } from '../../engine/cli/pass-bars';
import { verifyCheckpoint } from '../../engine/cli/verification';
import { isEngineError } from '../../engine/errors';
import { DeepseekForward } from '../../engine/model/forward';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { isSplitWeight, weightParts } from '../../engine/weights/split-weight';
import { weightPlan, type WeightPlan } from '../../engine/weights/weight-plan';
import { fixturePath } from '../support/fixtures';
import { testDevice } from '../support/gpu';

const LIMIT = 18_432;
const PROMPT = [1, 17, 300, 42, 511, 0, 256, 9, 77];
const DECODE = [5, 400, 33];

/** Logits of PROMPT (every row) then of each DECODE token, from a fresh model. */
async function logitsOf(plan: WeightPlan, maxWeightBufferBytes?: number): Promise<{ logits: Float32Array[]; model: DeepseekForward }> {
  const { device } = await testDevice();
  const model = await DeepseekForward.create(device, await openCheckpoint(fixturePath('tiny-v32')), {
    weights: plan, maxContext: 32, maxRows: 16, maxWeightBufferBytes,
  });
  const logits = [await model.prefill(PROMPT, { attention: 'dense' })];
  for (const id of DECODE) logits.push(await model.decode(id, { attention: 'dense' }));
  return { logits, model };
}

describe('a model split across buffers by a small limit', () => {
  it('tiny-v32 q4 with a 18,432-byte limit: embedding and lm_head split, meets the q4 bar', async () => {
    const { device } = await testDevice();
    const dir = fixturePath('tiny-v32');
    const bar = QUANTISED_BARS['tiny-v32'].q4;
    const report = await verifyCheckpoint(device, {
      source: await openCheckpoint(dir), goldenPath: join(dir, 'golden.safetensors'), weights: weightPlan('q4'),
      attention: 'dense', maxWeightBufferBytes: LIMIT,
    });
    expect(report.all.top1Agree).toBeGreaterThanOrEqual(bar.minTop1Agree);
    expect(report.all.meanKL).toBeLessThanOrEqual(bar.maxMeanKL);
    expect(report.pass).toBe(true);
  });

  // f32 embedding (256 bytes a row: 8 parts) and f16 lm_head (4 parts) with q4 layers: many parts, a short last one.
  const plan = weightPlan('q4', { embedding: 'f32', lmHead: 'f16' });
  it('gives exactly the logits of the unsplit model, prefill and decode', async () => {
    const split = await logitsOf(plan, LIMIT);
    expect(weightParts(split.model.weights.embedTokens).map((part) => part.firstRow)).toEqual([0, 72, 144, 216, 288, 360, 432, 504]);
    expect(weightParts(split.model.weights.lmHead).map((part) => part.firstRow)).toEqual([0, 144, 288, 432]);
    const whole = await logitsOf(plan);
    expect(isSplitWeight(whole.model.weights.lmHead)).toBe(false);
    expect(split.logits.map((l) => l.length)).toEqual(whole.logits.map((l) => l.length));
    split.logits.forEach((logits, i) => expect(Array.from(logits), `logits ${i}`).toEqual(Array.from(whole.logits[i])));
  });

  it('fails with ADAPTER_LIMITS when the stacked experts do not fit the limit', async () => {
    const { device } = await testDevice();
    const load = DeepseekForward.create(device, await openCheckpoint(fixturePath('tiny-v32')), { weights: plan, maxWeightBufferBytes: LIMIT - 16 });
    const error = await load.then(() => null, (e: unknown) => e);
    expect(isEngineError(error, 'ADAPTER_LIMITS')).toBe(true);
    expect((error as Error).message).toMatch(/experts\.gate_up needs one buffer of 18432 bytes.*at most 18416 bytes/);
  });
});
