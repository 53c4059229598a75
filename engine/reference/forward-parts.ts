// Small pieces of the float64 reference forward pass shared with layer streaming: a growing per-layer cache, the
// SwiGLU FFN and an in-place residual add. Row-major float64 activations, f32 weights [out, in].
import type { SwiGluWeights } from './forward-weights';
import { linear, swiglu } from './ops';

/** Rows of one width appended over time (a per-layer cache); `view()` is the filled part [rows, width]. */
export class GrowingRows {
  private data: Float64Array;
  rows = 0;

  constructor(readonly width: number) {
    this.data = new Float64Array(width * 16);
  }

  append(row: ArrayLike<number>): void {
    if ((this.rows + 1) * this.width > this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data.set(row, this.rows * this.width);
    this.rows++;
  }

  view(): Float64Array {
    return this.data.subarray(0, this.rows * this.width);
  }
}

/** x [rows, H] → SwiGLU FFN output [rows, H]: down · (silu(gate·x) ⊙ up·x). */
export function swiGluFfn(x: ArrayLike<number>, w: SwiGluWeights, rows: number, hidden: number): Float64Array {
  const gate = linear(x, w.gate, rows, w.width, hidden);
  const up = linear(x, w.up, rows, w.width, hidden);
  return linear(swiglu(gate, up), w.down, rows, hidden, w.width);
}

export function addInPlace(target: Float64Array, delta: ArrayLike<number>): void {
  for (let i = 0; i < target.length; i++) target[i] += delta[i];
}
