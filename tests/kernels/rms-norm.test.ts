// rms_norm against the float64 reference: odd widths (GPU and CPU thread counts), with and without subgroup sums,
// and the last-row-only variant.
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../engine/gpu/context';
import { readF32, runCalls, uploadArray, createStorage } from '../../engine/gpu/buffers';
import { MATVEC_SHAPES } from '../../engine/kernels/matvec-shape';
import { rmsNorm } from '../../engine/kernels/rms-norm';
import { rmsNorm as rmsNormRef } from '../reference/ops';
import { expectClose, randomArray, TOLERANCE } from '../support/compare';
import { testDevice } from '../support/gpu';

describe('rms_norm kernel', () => {
  const layouts = (['cpu', 'gpu'] as const);
  // Each with subgroup sums (where the device has subgroups: SwiftShader's are 4 wide) and with the tree fallback.
  const cases = ([[1, 64], [3, 37], [7, 513], [2, 1], [2, 2048]] as const)
    .flatMap(([r, d]) => layouts.flatMap((l) => [true, false].map((sg) => [r, d, l, sg] as const)));
  for (const [rows, dim, layout, subgroups] of cases) {
    it(`matches the reference on [${rows}, ${dim}] (${layout} layout: ${layout === 'gpu' ? 256 : 64} threads a row${subgroups ? '' : ', no subgroups'})`, async () => {
      const { device } = await testDevice();
      const ctx = new GpuContext(device, { matvec: MATVEC_SHAPES[layout], subgroups });
      const x = randomArray(rows * dim, rows * 31 + dim, 3);
      const w = randomArray(dim, dim + 7);
      const out = createStorage(device, rows * dim * 4, 'out');
      ctx.writeStep(rows, 0, false);
      runCalls(device, [rmsNorm(ctx, { dim, eps: 1e-6, hidden: uploadArray(device, x, 'x'), weight: uploadArray(device, w, 'w'), out })], rows);
      expectClose(await readF32(device, out, rows * dim), rmsNormRef(x, w, rows, dim, 1e-6), TOLERANCE.f32, 'rms_norm');
    });
  }

  it('lastRow normalises only row rows - 1, leaving the other rows untouched', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const rows = 4, dim = 37;
    const h = randomArray(rows * dim, 4), w = randomArray(dim, 6);
    const out = uploadArray(device, new Float32Array(rows * dim).fill(-7), 'out');
    ctx.writeStep(rows, 0, false);
    const call = rmsNorm(ctx, { dim, eps: 1e-6, hidden: uploadArray(device, h, 'h'), weight: uploadArray(device, w, 'w'), out, lastRow: true });
    runCalls(device, [call], rows);
    const last = (rows - 1) * dim;
    const gotOut = await readF32(device, out, rows * dim);
    expect(Array.from(gotOut.subarray(0, last))).toEqual(Array(last).fill(-7));
    expectClose(gotOut.subarray(last), rmsNormRef(h.slice(last), w, 1, dim, 1e-6), TOLERANCE.f32, 'normed, last row');
  });
});
