// MLA kernels (engine/kernels/mla.ts) against the float64 reference: each step appends rows to the latent cache,
// absorbs the queries, attends and up-projects; the cache, qAbs and the attention output are compared with
// rmsNorm/ropeAdjacent/mlaAttentionAbsorbed over the whole cache after every step (prefill chunk, decode row,
// second chunk), densely and with a DSA selection, with f32 and f16 kv_b_proj, and at a 600-key decode; on the GPU
// layout chunks of 16 rows or more (20, 37, 16) run the tiled absorption and value up-projection (mla_absorb_tiled.wgsl).
import { describe, expect, it } from 'vitest';
import { GpuContext, type KernelCall } from '../../engine/gpu/context';
import { createStorage, readF32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { mlaAttention, mlaQueryAbsorb, mlaValueUp, TILED_MIN_ROWS } from '../../engine/kernels/mla';
import { MATVEC_SHAPES, type MatmulThreadRows } from '../../engine/kernels/matvec-shape';
import { buildRopeTable } from '../../engine/model/rope';
import type { ModelConfig } from '../../engine/config';
import { roundToDtype, uploadWeight, type WeightDtype } from '../../engine/weights/gpu-weight';
import { linear, mlaAttentionAbsorbed, rmsNorm, ropeAdjacent } from '../reference/ops';
import { expectClose, randomArray, TOLERANCE } from '../support/compare';
import { testDevice } from '../support/gpu';

interface Shape { nH: number; dN: number; dR: number; dV: number; rKV: number }
interface Step { T: number; pos0: number; selection?: number[][] } // selection[t] = key positions row t sees

const EPS = 1e-6;
const MAX_CONTEXT = 640;

function ropeTables(dR: number) {
  // The tiny V3 fixture's YaRN settings, so high and low frequencies both occur.
  const rope = { theta: 10000, type: 'yarn', factor: 4, originalMaxPositions: 64, betaFast: 32, betaSlow: 1, mscale: 1, mscaleAllDim: 1 };
  const { cos, sin } = buildRopeTable({ qkRopeHeadDim: dR, rope } as ModelConfig, MAX_CONTEXT + 1);
  const table = new Float32Array(cos.length * 2); // [positions, dR/2, 2]
  for (let i = 0; i < cos.length; i++) { table[2 * i] = cos[i]; table[2 * i + 1] = sin[i]; }
  return { cos, sin, table };
}

/** One layer's MLA on the GPU beside the float64 reference of the same steps. */
async function mlaHarness(shape: Shape, dtype: WeightDtype, topk = 0, layout: keyof typeof MATVEC_SHAPES = 'cpu',
  maxRows = 8, matmulThreadRows?: MatmulThreadRows) {
  const { device } = await testDevice();
  // The layout picks the GPU or CPU thread shapes (query absorption, value up-projection, attention score lanes).
  const ctx = new GpuContext(device, { matvec: MATVEC_SHAPES[layout], matmulThreadRows });
  const { nH, dN, dR, dV, rKV } = shape;
  const width = rKV + dR;
  const rope = ropeTables(dR);
  const kvBValues = randomArray(nH * (dN + dV) * rKV, 11 * rKV + nH, 0.4);
  const normWeight = randomArray(rKV, rKV + 5, 1).map((v) => 1 + 0.5 * v);
  const kvB = uploadWeight(device, kvBValues, [nH * (dN + dV), rKV], dtype, 'kv_b_proj');
  const buffers = {
    kva: createStorage(device, MAX_CONTEXT * width * 4, 'kva'),
    // q and qAbs hold as many rows as the cache: appendOnly runs the absorption (which carries the append) over them.
    q: createStorage(device, MAX_CONTEXT * nH * (dN + dR) * 4, 'q'),
    qAbs: createStorage(device, MAX_CONTEXT * nH * width * 4, 'qAbs'),
    latentCache: createStorage(device, MAX_CONTEXT * width * 4, 'latentCache'),
    attnLatent: createStorage(device, maxRows * nH * rKV * 4, 'attnLatent'),
    output: createStorage(device, maxRows * nH * dV * 4, 'output'),
    indices: createStorage(device, maxRows * Math.max(topk, 1) * 4, 'indices'),
    counts: createStorage(device, maxRows * 4, 'counts'),
  };
  const scale = 1 / Math.sqrt(dN + dR);
  const ropeTable = uploadArray(device, rope.table, 'ropeTable');
  const calls: KernelCall[] = [
    mlaQueryAbsorb(ctx, {
      q: buffers.q, kvB, nH, dN, dR, dV, rKV, ropeTable, qAbs: buffers.qAbs,
      append: { kva: buffers.kva, normWeight: uploadArray(device, normWeight, 'kv_a_layernorm'), eps: EPS, latentCache: buffers.latentCache },
    }),
    mlaAttention(ctx, { qAbs: buffers.qAbs, latentCache: buffers.latentCache, nH, rKV, dR, scale, maxContext: MAX_CONTEXT, output: buffers.attnLatent,
      selected: topk ? { indices: buffers.indices, counts: buffers.counts, topk } : undefined }),
    mlaValueUp(ctx, { attnLatent: buffers.attnLatent, kvB, nH, dN, dV, rKV, output: buffers.output }),
  ];
  const refKvB = roundToDtype(kvBValues, dtype);
  const refCache = new Float64Array(MAX_CONTEXT * width);

  /** The reference cache rows pos0..pos0+T-1 from kv_a output rows: [RMSNorm(latent) ⊙ w ; ropeAdjacent(kR)]. */
  function appendReference(kva: Float32Array, T: number, pos0: number): void {
    const latent = new Float64Array(T * rKV);
    for (let t = 0; t < T; t++) for (let i = 0; i < rKV; i++) latent[t * rKV + i] = kva[t * width + i];
    const normed = rmsNorm(latent, normWeight, T, rKV, EPS);
    for (let t = 0; t < T; t++) {
      const row = (pos0 + t) * width;
      for (let i = 0; i < rKV; i++) refCache[row + i] = normed[t * rKV + i];
      for (let i = 0; i < dR; i++) refCache[row + rKV + i] = kva[t * width + rKV + i];
      ropeAdjacent(refCache, row + rKV, dR, rope.cos, rope.sin, pos0 + t);
    }
  }

  /** Fills cache rows pos0..pos0+T-1 with the absorption dispatch that carries the append (T up to MAX_CONTEXT). */
  function appendOnly(T: number, pos0: number, seed: number): void {
    const kva = randomArray(T * width, seed, 2);
    device.queue.writeBuffer(buffers.kva, 0, kva);
    ctx.writeStep(T, pos0, false);
    runCalls(device, [calls[0]], T);
    appendReference(kva, T, pos0);
  }

  /** Runs the whole layer for one step and returns what the reference says it produces. */
  async function runStep(step: Step, seed: number) {
    const { T, pos0, selection } = step;
    const kva = randomArray(T * width, seed, 2);
    const q = randomArray(T * nH * (dN + dR), seed + 1, 1);
    device.queue.writeBuffer(buffers.kva, 0, kva);
    device.queue.writeBuffer(buffers.q, 0, q);
    if (selection) {
      // Unused slots hold key 1, visible to every row but never selected here: reading past counts[t] would show.
      const indices = new Uint32Array(T * topk).fill(1);
      selection.forEach((keys, t) => indices.set(keys, t * topk));
      device.queue.writeBuffer(buffers.indices, 0, indices);
      device.queue.writeBuffer(buffers.counts, 0, new Uint32Array(selection.map((keys) => keys.length)));
    }
    ctx.writeStep(T, pos0, !!selection);
    runCalls(device, calls, T);

    appendReference(kva, T, pos0);
    const qRoped = Float64Array.from(q);
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < nH; h++) ropeAdjacent(qRoped, (t * nH + h) * (dN + dR) + dN, dR, rope.cos, rope.sin, pos0 + t);
    }
    const output = mlaAttentionAbsorbed({
      q: qRoped, latentCache: refCache.subarray(0, (pos0 + T) * width), kvB: refKvB, T, nH, dN, dR, dV, rKV, pos0, scale,
      allowed: selection ? (t, u) => selection[t].includes(u) : undefined,
    });
    return { qRoped, output };
  }

  /** qAbs expected from the roped query: [W_UK_hᵀ·qN ; qR] per (t, h). */
  function expectedQAbs(qRoped: Float64Array, T: number): Float64Array {
    const out = new Float64Array(T * nH * width);
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < nH; h++) {
        const src = (t * nH + h) * (dN + dR);
        const dst = (t * nH + h) * width;
        for (let d = 0; d < dN; d++) {
          for (let r = 0; r < rKV; r++) out[dst + r] += refKvB[(h * (dN + dV) + d) * rKV + r] * qRoped[src + d];
        }
        for (let i = 0; i < dR; i++) out[dst + rKV + i] = qRoped[src + dN + i];
      }
    }
    return out;
  }

  const read = (buffer: GPUBuffer, count: number) => readF32(device, buffer, count);
  return { buffers, refCache, width, appendOnly, runStep, expectedQAbs, read };
}

const SHAPES: Shape[] = [
  { nH: 1, dN: 5, dR: 4, dV: 7, rKV: 9 },
  { nH: 3, dN: 16, dR: 8, dV: 16, rKV: 32 },
  { nH: 3, dN: 5, dR: 4, dV: 7, rKV: 130 },
];
// On the GPU layout the second chunk has TILED_MIN_ROWS rows or more, so it runs the tiled kernels; the first
// chunk still runs the few-row ones.
const STEPS = {
  cpu: [{ T: 5, pos0: 0 }, { T: 1, pos0: 5 }, { T: 3, pos0: 6 }],
  gpu: [{ T: 5, pos0: 0 }, { T: 1, pos0: 5 }, { T: 20, pos0: 6 }],
} satisfies Record<string, Step[]>;
const label = (s: Shape) => `nH ${s.nH}, dN/dR/dV/rKV ${s.dN}/${s.dR}/${s.dV}/${s.rKV}`;
const stepsLabel = ([first, decode, chunk]: Step[]) => `${first.T} + decode ${decode.T} + chunk ${chunk.T}`;

/** Runs `steps` through `layer` and checks the whole cache, qAbs and the output after each. */
async function expectSteps(layer: Awaited<ReturnType<typeof mlaHarness>>, shape: Shape, dtype: WeightDtype, steps: Step[]) {
  const { nH, dV } = shape;
  for (const [i, step] of steps.entries()) {
    const expected = await layer.runStep(step, 100 * i + 7);
    const what = `step ${i} (T ${step.T}, pos0 ${step.pos0})`;
    // The whole cache: earlier rows kept, new rows written, rows past kv_len still zero.
    const cacheRows = step.pos0 + step.T + 2;
    expectClose(await layer.read(layer.buffers.latentCache, cacheRows * layer.width),
      layer.refCache.subarray(0, cacheRows * layer.width), TOLERANCE.f32, `${what} latent cache`);
    expectClose(await layer.read(layer.buffers.qAbs, step.T * nH * layer.width),
      layer.expectedQAbs(expected.qRoped, step.T), TOLERANCE[dtype], `${what} qAbs`);
    expectClose(await layer.read(layer.buffers.output, step.T * nH * dV), expected.output, TOLERANCE[dtype], `${what} output`);
  }
}

describe('mla kernels', () => {
  for (const dtype of ['f32', 'f16'] as const) {
    for (const [shape, layout] of SHAPES.flatMap((shape) => (['cpu', 'gpu'] as const).map((layout) => [shape, layout] as const))) {
      // f16 kv_b_proj on the GPU layout: the widest shape only (the tiled case below covers f16 too).
      if (dtype === 'f16' && layout === 'gpu' && shape !== SHAPES[SHAPES.length - 1]) continue;
      it(`prefill ${stepsLabel(STEPS[layout])} match the reference over the whole cache (${label(shape)}, ${dtype} kv_b, ${layout} layout)`, async () => {
        expect(STEPS.gpu[2].T).toBeGreaterThanOrEqual(TILED_MIN_ROWS);
        const layer = await mlaHarness(shape, dtype, 0, layout, 20);
        await expectSteps(layer, shape, dtype, STEPS[layout]);
      });
    }
  }

  // Two tiles of 32 rows (one partial) in the tiled kernels, 8 rows a thread in the value up-projection: dN 21 a
  // partial 16-dim slice, rKV 131 a partial 128-column block with a half-empty f16 pair and a partial 16-dim slice
  // of ô, dV 130 two output blocks of a head.
  it('prefill 37 + decode 1 + chunk 16 match the reference, tiled on the GPU layout (nH 2, dN/dR/dV/rKV 21/4/130/131, f16 kv_b)', async () => {
    const shape = { nH: 2, dN: 21, dR: 4, dV: 130, rKV: 131 };
    const layer = await mlaHarness(shape, 'f16', 0, 'gpu', 40, 8);
    await expectSteps(layer, shape, 'f16', [{ T: 37, pos0: 0 }, { T: 1, pos0: 37 }, { T: TILED_MIN_ROWS, pos0: 38 }]);
  });

  it('attends only to the DSA selection when the step is sparse, and densely when it is not (same pipeline)', async () => {
    const shape = { nH: 3, dN: 16, dR: 8, dV: 16, rKV: 32 };
    const layer = await mlaHarness(shape, 'f32', 4);
    const size = 3 * shape.nH * shape.dV;
    await layer.runStep({ T: 5, pos0: 0 }, 1);
    // Rows at positions 5, 6, 7; counts 2, 4, 1 of topk 4, keys in any order, the row's own position included or not.
    const sparse = await layer.runStep({ T: 3, pos0: 5, selection: [[3, 0], [6, 1, 4, 2], [7]] }, 2);
    const sparseOut = await layer.read(layer.buffers.output, size);
    expectClose(sparseOut, sparse.output, TOLERANCE.f32, 'sparse output');
    const dense = await layer.runStep({ T: 3, pos0: 5 }, 2);
    const denseOut = await layer.read(layer.buffers.output, size);
    expectClose(denseOut, dense.output, TOLERANCE.f32, 'dense output');
    expect(Math.max(...sparseOut.map((v, i) => Math.abs(v - denseOut[i])))).toBeGreaterThan(1e-2);
  });

  for (const dtype of ['f32', 'f16'] as const) {
    it(`decodes against 600 cached keys, dense and with a 300-key selection (${dtype} kv_b)`, async () => {
      const shape = { nH: 3, dN: 16, dR: 8, dV: 16, rKV: 130 };
      const layer = await mlaHarness(shape, dtype, 300);
      layer.appendOnly(600, 0, 3);
      const dense = await layer.runStep({ T: 1, pos0: 600 }, 9);
      expectClose(await layer.read(layer.buffers.output, shape.nH * shape.dV), dense.output, TOLERANCE[dtype], 'dense decode');
      const keys = Array.from({ length: 300 }, (_, i) => (i * 7 + 3) % 601); // spans all three key blocks
      const sparse = await layer.runStep({ T: 1, pos0: 600, selection: [keys] }, 10);
      expectClose(await layer.read(layer.buffers.output, shape.nH * shape.dV), sparse.output, TOLERANCE[dtype], 'sparse decode');
    });
  }

  it('value up-projection matches W_UV_h · ô per head for odd shapes (GPU and CPU layouts)', async () => {
    const { device } = await testDevice();
    const nH = 3, dN = 5, dV = 7, rKV = 9, T = 7;
    for (const [dtype, layout] of [['f32', 'gpu'], ['f16', 'gpu'], ['f32', 'cpu'], ['f16', 'cpu']] as const) {
      const ctx = new GpuContext(device, { matvec: MATVEC_SHAPES[layout] });
      const kvBValues = randomArray(nH * (dN + dV) * rKV, 5);
      const kvB = uploadWeight(device, kvBValues, [nH * (dN + dV), rKV], dtype, 'kv_b_proj');
      const latent = randomArray(T * nH * rKV, 6);
      const output = createStorage(device, T * nH * dV * 4, 'output');
      ctx.writeStep(T, 0, false);
      runCalls(device, [mlaValueUp(ctx, { attnLatent: uploadArray(device, latent, 'ô'), kvB, nH, dN, dV, rKV, output })], T);
      const weights = roundToDtype(kvBValues, dtype);
      const expected = new Float64Array(T * nH * dV);
      for (let h = 0; h < nH; h++) {
        const wUV = weights.subarray((h * (dN + dV) + dN) * rKV, (h + 1) * (dN + dV) * rKV);
        const oHat = new Float64Array(T * rKV);
        for (let t = 0; t < T; t++) for (let j = 0; j < rKV; j++) oHat[t * rKV + j] = latent[(t * nH + h) * rKV + j];
        const o = linear(oHat, wUV, T, dV, rKV);
        for (let t = 0; t < T; t++) for (let i = 0; i < dV; i++) expected[t * nH * dV + h * dV + i] = o[t * dV + i];
      }
      expectClose(await readF32(device, output, T * nH * dV), expected, TOLERANCE[dtype], `value up ${dtype} ${layout}`);
    }
  });

  it('rejects malformed arguments before building a shader', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const buffer = createStorage(device, 1024, 'any');
    const kvB = uploadWeight(device, new Float32Array(2 * 12 * 9), [24, 9], 'f32', 'kv_b_proj');
    const append = { kva: buffer, normWeight: buffer, eps: 1e-6, latentCache: buffer };
    expect(() => mlaQueryAbsorb(ctx, { q: buffer, kvB, nH: 2, dN: 5, dR: 3, dV: 7, rKV: 9, ropeTable: buffer, qAbs: buffer, append })).toThrow(/dR/);
    expect(() => mlaQueryAbsorb(ctx, { q: buffer, kvB, nH: 2, dN: 5, dR: 4, dV: 7, rKV: 9, ropeTable: buffer, qAbs: buffer, append: { ...append, eps: 0 } })).toThrow(/eps/);
    expect(() => mlaQueryAbsorb(ctx, { q: buffer, kvB, nH: 3, dN: 5, dR: 4, dV: 7, rKV: 9, ropeTable: buffer, qAbs: buffer })).toThrow(/kvB/);
    expect(() => mlaAttention(ctx, { qAbs: buffer, latentCache: buffer, nH: 1, rKV: 9, dR: 4, scale: 0.1, maxContext: 100, output: buffer })).toThrow(/latentCache/);
    expect(() => mlaValueUp(ctx, { attnLatent: buffer, kvB, nH: 2, dN: 5, dV: 7, rKV: 0, output: buffer })).toThrow(/rKV/);
  });
});
