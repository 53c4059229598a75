// Agreement between our logits and a reference's, over positions of vocabulary V: max and RMS absolute error,
// top-1 agreement, and the mean KL divergence KL(reference || ours) of the next-token distributions.

export interface LogitMetrics {
  positions: number;
  maxAbsErr: number;
  rmsErr: number;
  top1Agree: number;
  meanKL: number;
}

export class LogitComparison {
  private positions = 0;
  private maxAbs = 0;
  private sumSq = 0;
  private count = 0;
  private agree = 0;
  private klSum = 0;

  constructor(private readonly vocab: number) {}

  /** Adds `rows` positions: both arrays hold [rows, V]. */
  add(ours: ArrayLike<number>, reference: ArrayLike<number>, rows: number): void {
    const v = this.vocab;
    for (let r = 0; r < rows; r++) {
      let oursBest = 0;
      let refBest = 0;
      for (let i = 0; i < v; i++) {
        const a = ours[r * v + i];
        const b = reference[r * v + i];
        const d = Math.abs(a - b);
        this.maxAbs = Number.isNaN(d) ? Infinity : Math.max(this.maxAbs, d);
        this.sumSq += d * d;
        if (a > ours[r * v + oursBest]) oursBest = i;
        if (b > reference[r * v + refBest]) refBest = i;
      }
      this.count += v;
      if (oursBest === refBest) this.agree++;
      this.klSum += klDivergence(reference, ours, r * v, v);
      this.positions++;
    }
  }

  result(): LogitMetrics {
    const n = Math.max(1, this.positions);
    return {
      positions: this.positions,
      maxAbsErr: this.maxAbs,
      rmsErr: Math.sqrt(this.sumSq / Math.max(1, this.count)),
      top1Agree: this.agree / n,
      meanKL: this.klSum / n,
    };
  }
}

/** KL(P || Q) with P = softmax(p), Q = softmax(q) over `v` entries from `offset`. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>, offset: number, v: number): number {
  const logZ = (x: ArrayLike<number>) => {
    let max = -Infinity;
    for (let i = 0; i < v; i++) max = Math.max(max, x[offset + i]);
    let sum = 0;
    for (let i = 0; i < v; i++) sum += Math.exp(x[offset + i] - max);
    return max + Math.log(sum);
  };
  const lp = logZ(p);
  const lq = logZ(q);
  let kl = 0;
  for (let i = 0; i < v; i++) {
    const logP = p[offset + i] - lp;
    kl += Math.exp(logP) * (logP - (q[offset + i] - lq));
  }
  return Math.max(0, kl);
}
