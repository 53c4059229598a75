// Routed-expert kernels against the float64 reference: expertsSwiGLU (per-slot gate/up + SiLU with the expert
// picked from GPU-side ids) and expertsDown (weighted combine, accumulated into an output that already holds the
// shared expert's result). Ids include repeats within a token's row, k = 1 and k = 3, odd H and I, and f32, f16,
// q8 and q4 weights; H and I multiples of 32 run the packed-chunk kernels. As in linear.test.ts the reference uses the stored weights (q8/q4 unpacked from the words
// uploaded), so every format shares one tolerance: atol = 1e-5·max|ref|, rtol = 1e-4.
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../engine/gpu/context';
import { createStorage, readF32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { expertsDown, expertsSwiGLU } from '../../engine/kernels/experts';
import { uploadWeight } from '../../engine/weights/gpu-weight';
import { linear as linearRef, silu } from '../reference/ops';
import { expectClose, randomArray, type Tolerance } from '../support/compare';
import { testDevice } from '../support/gpu';
import { asUpload, packedKernelX, PLAIN, QUANTISED, storageName, storedValues } from '../support/stored-weights';
import { MATVEC_SHAPES, PACKED_MATVEC_SHAPES, type MatvecKind } from '../../engine/kernels/matvec-shape';

const STORAGES = [...PLAIN, ...QUANTISED.slice(0, 3)];
const EXPERTS = 5;

function tolerance(expected: ArrayLike<number>): Tolerance {
  let magnitude = 0;
  for (let i = 0; i < expected.length; i++) magnitude = Math.max(magnitude, Math.abs(expected[i]));
  return { atol: 1e-5 * Math.max(magnitude, 1e-6), rtol: 1e-4 };
}

/** [T, k] ids in [0, EXPERTS); the first token's row repeats one expert when k > 1. */
function randomIds(rows: number, topK: number, seed: number): Uint32Array {
  const r = randomArray(rows * topK, seed);
  const ids = Uint32Array.from(r, (v) => Math.floor((v + 1) / 2 * EXPERTS) % EXPERTS);
  if (topK > 1) ids[1] = ids[0];
  return ids;
}

/** W[expert] rows [first, first + count) as a [count, K] matrix. */
function expertRows(w: Float32Array, expert: number, rowsPerExpert: number, first: number, count: number, k: number) {
  const start = (expert * rowsPerExpert + first) * k;
  return w.subarray(start, start + count * k);
}

interface Case { rows: number; topK: number; hidden: number; inter: number }

const CASES: Case[] = [
  { rows: 1, topK: 1, hidden: 7, inter: 3 },
  { rows: 1, topK: 3, hidden: 130, inter: 65 },
  { rows: 2, topK: 3, hidden: 257, inter: 9 },
  { rows: 5, topK: 1, hidden: 64, inter: 70 },
  { rows: 5, topK: 3, hidden: 33, inter: 130 },
  // H and I multiples of 32: f16/q8/q4 take the packed-chunk kernels (experts_packed.wgsl).
  { rows: 2, topK: 3, hidden: 224, inter: 96 },
];

/** Packed-chunk layouts: the GPU default, and one with 4 lanes x 3 rows (48 rows, not dividing H = 224). */
const PACKED_LAYOUTS = { gpu: PACKED_MATVEC_SHAPES.gpu, cpu: { WG: 64, LANES: 4, ROWS_PER_THREAD: 3 } };

/** Alternates the GPU and CPU-adapter matrix-vector layouts over storages and cases, so each runs both ways. */
function layoutFor(storage: (typeof STORAGES)[number], caseKey: number): MatvecKind {
  return (STORAGES.indexOf(storage) + caseKey) % 2 === 0 ? 'gpu' : 'cpu';
}

describe('expertsSwiGLU kernel', () => {
  for (const storage of STORAGES) {
    const dtype = storageName(storage);
    for (const { rows, topK, hidden, inter } of CASES) {
      const layout = layoutFor(storage, rows + topK + hidden);
      it(`act[t,j] = silu(Wg[id]·x)·(Wu[id]·x) for T=${rows}, k=${topK}, H=${hidden}, I=${inter}, ${dtype}, ${layout} matvec layout`, async () => {
        const { device } = await testDevice();
        const ctx = new GpuContext(device, { matvec: MATVEC_SHAPES[layout], packedMatvec: PACKED_LAYOUTS[layout] });
        const seed = rows * 100 + topK * 10 + hidden;
        const x = randomArray(rows * hidden, seed, 2);
        const w = randomArray(EXPERTS * 2 * inter * hidden, seed + 1);
        const ids = randomIds(rows, topK, seed + 2);
        const output = createStorage(device, rows * topK * inter * 4, 'act');
        const weight = uploadWeight(device, w, [EXPERTS, 2 * inter, hidden], asUpload(storage), 'w');
        const call = expertsSwiGLU(ctx, {
          input: uploadArray(device, x, 'x'), weight, expertIds: uploadArray(device, ids, 'ids'), topK, output,
        });
        ctx.writeStep(rows, 0, false);
        runCalls(device, [call], rows);

        const wr = storedValues(w, hidden, storage);
        const expected = new Float64Array(rows * topK * inter);
        for (let t = 0; t < rows; t++) {
          const xt = packedKernelX(x.subarray(t * hidden, (t + 1) * hidden), hidden, PACKED_LAYOUTS[layout], storage, weight);
          for (let j = 0; j < topK; j++) {
            const id = ids[t * topK + j];
            const gate = linearRef(xt, expertRows(wr, id, 2 * inter, 0, inter, hidden), 1, inter, hidden);
            const up = linearRef(xt, expertRows(wr, id, 2 * inter, inter, inter, hidden), 1, inter, hidden);
            for (let n = 0; n < inter; n++) expected[(t * topK + j) * inter + n] = silu(gate[n]) * up[n];
          }
        }
        expectClose(await readF32(device, output, expected.length), expected, tolerance(expected), `experts_swiglu ${dtype}`);
      });
    }
  }
});

describe('expertsDown kernel', () => {
  for (const storage of STORAGES) {
    const dtype = storageName(storage);
    for (const { rows, topK, hidden, inter } of CASES) {
      const layout = layoutFor(storage, rows + topK + hidden);
      it(`out[t] += Σ_j w[t,j]·(W[id_j]·act[t,j]) for T=${rows}, k=${topK}, H=${hidden}, I=${inter}, ${dtype}, ${layout} matvec layout`, async () => {
        const { device } = await testDevice();
        const ctx = new GpuContext(device, { matvec: MATVEC_SHAPES[layout], packedMatvec: PACKED_LAYOUTS[layout] });
        const seed = rows * 100 + topK * 10 + inter + 50;
        const act = randomArray(rows * topK * inter, seed, 2);
        const w = randomArray(EXPERTS * hidden * inter, seed + 1);
        const ids = randomIds(rows, topK, seed + 2);
        const routeWeights = randomArray(rows * topK, seed + 3).map((v) => v + 1.5);
        const shared = randomArray(rows * hidden, seed + 4, 3);
        const output = uploadArray(device, shared, 'out');
        const weight = uploadWeight(device, w, [EXPERTS, hidden, inter], asUpload(storage), 'w');
        const call = expertsDown(ctx, {
          input: uploadArray(device, act, 'act'), weight, expertIds: uploadArray(device, ids, 'ids'),
          expertWeights: uploadArray(device, routeWeights, 'rw'), topK, output,
        });
        ctx.writeStep(rows, 0, false);
        runCalls(device, [call], rows);

        const wr = storedValues(w, inter, storage);
        const expected = Float64Array.from(shared);
        for (let t = 0; t < rows; t++) {
          for (let j = 0; j < topK; j++) {
            const slot = t * topK + j;
            const slotAct = packedKernelX(act.subarray(slot * inter, (slot + 1) * inter), inter, PACKED_LAYOUTS[layout], storage, weight);
            const y = linearRef(slotAct, expertRows(wr, ids[slot], hidden, 0, hidden, inter), 1, hidden, inter);
            for (let h = 0; h < hidden; h++) expected[t * hidden + h] += routeWeights[slot] * y[h];
          }
        }
        expectClose(await readF32(device, output, expected.length), expected, tolerance(expected), `experts_down ${dtype}`);
      });
    }
  }

  it('overwrites the output instead of adding when accumulate is false', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const rows = 2, topK = 3, hidden = 11, inter = 5;
    const act = randomArray(rows * topK * inter, 21);
    const w = randomArray(EXPERTS * hidden * inter, 22);
    const ids = randomIds(rows, topK, 23);
    const routeWeights = randomArray(rows * topK, 24);
    const output = uploadArray(device, new Float32Array(rows * hidden).fill(1e6), 'out');
    const call = expertsDown(ctx, {
      input: uploadArray(device, act, 'act'), weight: uploadWeight(device, w, [EXPERTS, hidden, inter], 'f32', 'w'),
      expertIds: uploadArray(device, ids, 'ids'), expertWeights: uploadArray(device, routeWeights, 'rw'), topK, output,
      accumulate: false,
    });
    ctx.writeStep(rows, 0, false);
    runCalls(device, [call], rows);
    const expected = new Float64Array(rows * hidden);
    for (let slot = 0; slot < rows * topK; slot++) {
      const t = Math.floor(slot / topK);
      const y = linearRef(act.subarray(slot * inter, (slot + 1) * inter), expertRows(w, ids[slot], hidden, 0, hidden, inter), 1, hidden, inter);
      for (let h = 0; h < hidden; h++) expected[t * hidden + h] += routeWeights[slot] * y[h];
    }
    expectClose(await readF32(device, output, expected.length), expected, tolerance(expected), 'experts_down overwrite');
  });

  it('validates its arguments before building a shader', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const weight = uploadWeight(device, randomArray(4 * 4 * 6, 1), [4, 4, 6], 'f32', 'w');
    const buf = (n: number) => createStorage(device, n * 4, 'b');
    const args = { input: buf(3 * 6), weight, expertIds: buf(3), expertWeights: buf(3), topK: 3, output: buf(4) };
    expect(() => expertsDown(ctx, { ...args, topK: 0 })).toThrow(/topK/);
    expect(() => expertsDown(ctx, { ...args, topK: 3, weight: { ...weight, shape: [8, 6] } })).toThrow(/weight shape/);
    expect(() => expertsDown(ctx, { ...args, input: buf(2) })).toThrow(/input/);
    expect(() => expertsSwiGLU(ctx, { ...args, weight: { ...weight, shape: [4, 3, 6] } })).toThrow(/even/);
  });
});
