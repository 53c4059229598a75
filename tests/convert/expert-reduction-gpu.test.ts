// The reduced model on the GPU against transformers' golden logits of tiny-v3-fp8 (E = 8, k = 2, 4 groups):
// keeping all 8 experts through the reduction view reproduces the golden exactly as the original does, and
// keeping 4 experts chosen from routing statistics over the golden's own token ids loses less (mean KL over all
// positions) than the mean of 5 seeded random choices of 4 experts per layer under the same group rule.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { verifyCheckpoint, PASS_THRESHOLDS, type VerifyReport } from '../../engine/cli/verification';
import { readCalibrationFile } from '../../engine/convert/calibration-node';
import { chooseExperts, reduceExperts, selectionFromScores, type ExpertSelection } from '../../engine/convert/expert-reduction';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import type { TensorSource } from '../../engine/weights/tensor-source';
import { fixturePath } from '../support/fixtures';
import { testDevice } from '../support/gpu';

const dir = fixturePath('tiny-v3-fp8');
const goldenPath = join(dir, 'golden.safetensors');

async function runReduced(source: TensorSource, selection: ExpertSelection): Promise<VerifyReport> {
  const { device } = await testDevice();
  return verifyCheckpoint(device, { source: reduceExperts(source, selection), goldenPath, weights: 'f32', attention: 'dense' });
}

/** Mean KL over every position, prefill and decode together. */
function meanKL(report: VerifyReport): number {
  const { prefill, decode } = report;
  return (prefill.meanKL * prefill.positions + decode.meanKL * decode.positions) / (prefill.positions + decode.positions);
}

/** Seeded scores [E] per MoE layer: a random choice of experts once ranked. */
function randomScores(seed: number, layers: number, experts: number): Float64Array[] {
  let state = seed * 2654435761 + 1;
  const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);
  return Array.from({ length: layers }, () => Float64Array.from({ length: experts }, next));
}

describe('expert reduction on the GPU (tiny-v3-fp8)', () => {
  it('keeping all 8 experts reproduces the golden within 5e-3 (f32)', async () => {
    const source = await openCheckpoint(dir);
    const selection = await chooseExperts(source, 8, { calibration: readCalibrationFile(goldenPath, 640) });
    expect(selection.perLayer.every((l) => l.kept.join() === '0,1,2,3,4,5,6,7')).toBe(true);
    const report = await runReduced(source, selection);
    expect(report.prefill.maxAbsErr).toBeLessThanOrEqual(PASS_THRESHOLDS.f32.maxAbsErr);
    expect(report.decode.maxAbsErr).toBeLessThanOrEqual(PASS_THRESHOLDS.f32.maxAbsErr);
    expect(report.pass).toBe(true);
  });

  it('keeping 4: the calibration choice beats the mean of 5 random choices on mean KL', async () => {
    const source = await openCheckpoint(dir);
    const config = source.config;
    const calibration = readCalibrationFile(goldenPath, config.vocabSize);
    const chosen = await chooseExperts(source, 4, { calibration });
    expect(chosen.method).toBe('calibration');
    const calibrated = await runReduced(source, chosen);
    const randomKL: number[] = [];
    for (let seed = 1; seed <= 5; seed++) {
      const scores = randomScores(seed, config.numLayers - config.firstKDense, config.nRoutedExperts);
      randomKL.push(meanKL(await runReduced(source, selectionFromScores(config, 4, scores, 'heuristic', 0))));
    }
    const randomMean = randomKL.reduce((a, b) => a + b, 0) / randomKL.length;
    console.log(`tiny-v3-fp8 keep 4: calibration top1 ${calibrated.prefill.top1Agree.toFixed(3)} meanKL ${meanKL(calibrated).toFixed(4)}`
      + ` (kept ${chosen.perLayer.map((l) => `[${l.kept}]`).join(' ')}); random meanKL ${randomKL.map((v) => v.toFixed(4)).join(', ')}`
      + ` mean ${randomMean.toFixed(4)}`);
    expect(Number.isFinite(meanKL(calibrated))).toBe(true);
    expect(meanKL(calibrated)).toBeLessThan(randomMean);
  });
});
