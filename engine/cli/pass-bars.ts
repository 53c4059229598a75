// What `npm run verify` judges a run against. f32: every logit within 5e-3 of transformers', per phase. f16: the
// distributional bar of rounding weights to f16 (top-1 agreement and mean KL, per phase). q8/q4: the issue's
// per-fixture table over all positions (prefill and decode together) for the known fixtures, by folder name;
// for other checkpoints q8 must keep top-1 >= 0.8 and mean KL <= 0.03, and q4 only finite logits.
import type { StorageDtype } from '../weights/quant';
import type { LogitMetrics } from './logit-metrics';

export type PassBar =
  | { over: 'prefill, decode'; maxAbsErr: number }
  | { over: 'prefill, decode' | 'all'; minTop1Agree: number; maxMeanKL: number }
  | { over: 'all'; finiteLogits: true };

export const PASS_THRESHOLDS = {
  f32: { maxAbsErr: 5e-3 },
  f16: { minTop1Agree: 0.98, maxMeanKL: 5e-3 },
} as const;

interface Agreement { minTop1Agree: number; maxMeanKL: number }

/** The table: at least this good over all positions. */
export const QUANTISED_BARS: Readonly<Record<string, Record<'q8' | 'q4', Agreement>>> = {
  'tiny-v2': { q8: { minTop1Agree: 1.0, maxMeanKL: 0.00023 }, q4: { minTop1Agree: 0.539, maxMeanKL: 0.0312 } },
  'tiny-v3-fp8': { q8: { minTop1Agree: 0.939, maxMeanKL: 0.008 }, q4: { minTop1Agree: 0.339, maxMeanKL: 0.156 } },
  'tiny-v32': { q8: { minTop1Agree: 0.871, maxMeanKL: 0.0141 }, q4: { minTop1Agree: 0.422, maxMeanKL: 0.17 } },
};

export const GENERIC_Q8: Agreement = { minTop1Agree: 0.8, maxMeanKL: 0.03 };

/** The bar for matrices stored as `dtype` on the checkpoint folder named `checkpointName`. */
export function passBar(dtype: StorageDtype, checkpointName: string): PassBar {
  if (dtype === 'f32') return { over: 'prefill, decode', ...PASS_THRESHOLDS.f32 };
  if (dtype === 'f16') return { over: 'prefill, decode', ...PASS_THRESHOLDS.f16 };
  const known = QUANTISED_BARS[checkpointName]?.[dtype];
  if (known) return { over: 'all', ...known };
  return dtype === 'q8' ? { over: 'all', ...GENERIC_Q8 } : { over: 'all', finiteLogits: true };
}

export function meetsBar(bar: PassBar, phases: { prefill: LogitMetrics; decode: LogitMetrics; all: LogitMetrics }): boolean {
  const judged = bar.over === 'all' ? [phases.all] : [phases.prefill, phases.decode];
  return judged.every((m) => {
    if ('finiteLogits' in bar) return Number.isFinite(m.maxAbsErr);
    if ('maxAbsErr' in bar) return m.maxAbsErr <= bar.maxAbsErr;
    return m.top1Agree >= bar.minTop1Agree && m.meanKL <= bar.maxMeanKL;
  });
}
