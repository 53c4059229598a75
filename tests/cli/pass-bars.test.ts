// The bars `npm run verify` judges against: f32/f16 per phase as before, q8/q4 over all positions by fixture
// folder name, generic q8 and q4 bars for other checkpoints.
import { describe, expect, it } from 'vitest';
import { meetsBar, passBar } from '../../engine/cli/pass-bars';
import type { LogitMetrics } from '../../engine/cli/logit-metrics';

const metrics = (top1Agree: number, meanKL: number, maxAbsErr = 1): LogitMetrics =>
  ({ positions: 10, maxAbsErr, rmsErr: 0.1, top1Agree, meanKL });

describe('pass bars', () => {
  it('keeps the f32 and f16 bars per phase', () => {
    expect(passBar('f32', 'tiny-v2')).toEqual({ over: 'prefill, decode', maxAbsErr: 5e-3 });
    const f16 = passBar('f16', 'anything');
    const good = metrics(0.99, 1e-3);
    expect(meetsBar(f16, { prefill: good, decode: good, all: good })).toBe(true);
    expect(meetsBar(f16, { prefill: good, decode: metrics(0.9, 1e-3), all: good })).toBe(false);
  });

  it('judges q8/q4 on a known fixture by the issue table over all positions only', () => {
    const bar = passBar('q4', 'tiny-v3-fp8');
    expect(bar).toEqual({ over: 'all', minTop1Agree: 0.339, maxMeanKL: 0.156 });
    const bad = metrics(0, 9);
    expect(meetsBar(bar, { prefill: bad, decode: bad, all: metrics(0.34, 0.15) })).toBe(true);
    expect(meetsBar(bar, { prefill: bad, decode: bad, all: metrics(0.33, 0.15) })).toBe(false);
    expect(meetsBar(passBar('q8', 'tiny-v2'), { prefill: bad, decode: bad, all: metrics(0.99, 1e-4) })).toBe(false);
  });

  it('uses generic bars for other checkpoints: q8 top-1 >= 0.8 and KL <= 0.03, q4 finite logits', () => {
    const q8 = passBar('q8', 'my-model');
    const ok = metrics(0.8, 0.03);
    expect(meetsBar(q8, { prefill: ok, decode: ok, all: ok })).toBe(true);
    expect(meetsBar(q8, { prefill: ok, decode: ok, all: metrics(0.79, 0.01) })).toBe(false);
    const q4 = passBar('q4', 'my-model');
    expect(meetsBar(q4, { prefill: ok, decode: ok, all: metrics(0, 5) })).toBe(true);
    expect(meetsBar(q4, { prefill: ok, decode: ok, all: metrics(0, 5, Infinity) })).toBe(false);
  });
});
