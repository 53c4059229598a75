// The reduced model on the GPU against transformers' golden logits of tiny-v3-fp8 (E = 8, k = 2, 4 groups), through
// verifyCheckpoint like `npm run verify -- --experts N`: keeping all 8 experts through the reduction view
// reproduces the golden within 5e-3 (f32), and the model keeping 4 experts chosen from the golden's token ids
// loads and runs, with the error it has against the golden equal to the float64 reference's for the same
// reduced model (the calibrated-versus-random comparison runs in the reference: expert-choice-quality.test.ts).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { verifyCheckpoint, PASS_THRESHOLDS, type VerifyReport } from '../../engine/cli/verification';
import { readCalibrationFile } from '../../engine/convert/calibration-node';
import { chooseExperts, reduceExperts, type ExpertSelection } from '../../engine/convert/expert-reduction';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import type { TensorSource } from '../../engine/weights/tensor-source';
import { fixturePath } from '../support/fixtures';
import { testDevice } from '../support/gpu';
import { referenceQuality } from '../support/reference-quality';

const dir = fixturePath('tiny-v3-fp8');
const goldenPath = join(dir, 'golden.safetensors');

async function runReduced(source: TensorSource, selection: ExpertSelection): Promise<VerifyReport> {
  const { device } = await testDevice();
  return verifyCheckpoint(device, { source: reduceExperts(source, selection), goldenPath, weights: 'f32', attention: 'dense' });
}

describe('expert reduction on the GPU (tiny-v3-fp8)', () => {
  it('keeping all 8 experts reproduces the golden within 5e-3 (f32)', async () => {
    const source = await openCheckpoint(dir);
    const selection = await chooseExperts(source, 8, { calibration: readCalibrationFile(goldenPath, 640) });
    expect(selection.perLayer.every((l) => l.kept.join() === '0,1,2,3,4,5,6,7')).toBe(true);
    const report = await runReduced(source, selection);
    console.log(`tiny-v3-fp8 keep 8/8 on the GPU: ${JSON.stringify({ prefill: report.prefill, decode: report.decode })}`);
    expect(report.prefill.maxAbsErr).toBeLessThanOrEqual(PASS_THRESHOLDS.f32.maxAbsErr);
    expect(report.decode.maxAbsErr).toBeLessThanOrEqual(PASS_THRESHOLDS.f32.maxAbsErr);
    expect(report.pass).toBe(true);
  });

  it('keeping 4 calibrated experts runs, with the float64 reference\'s error against the golden', async () => {
    const source = await openCheckpoint(dir);
    const selection = await chooseExperts(source, 4, { calibration: readCalibrationFile(goldenPath, 640) });
    const report = await runReduced(source, selection);
    const { prefill, decode } = report;
    const positions = prefill.positions + decode.positions;
    const top1 = (prefill.top1Agree * prefill.positions + decode.top1Agree * decode.positions) / positions;
    const meanKL = (prefill.meanKL * prefill.positions + decode.meanKL * decode.positions) / positions;
    console.log(`tiny-v3-fp8 keep 4/8 on the GPU: top1 ${top1.toFixed(3)} meanKL ${meanKL.toFixed(4)}`
      + ` maxAbsErr ${prefill.maxAbsErr.toFixed(3)} / ${decode.maxAbsErr.toFixed(3)}`);
    const reference = await referenceQuality(source, selection, goldenPath);
    expect(meanKL).toBeGreaterThan(0.01); // four experts really are gone
    expect(Math.abs(meanKL - reference.meanKL)).toBeLessThan(1e-3);
    expect(top1).toBeCloseTo(reference.top1, 6);
  });
});
