// DSA indexer kernels against the float64 reference: key append (LayerNorm + half-split RoPE into the cache over
// several steps, in its own dispatch and inside the query absorption's), index scores, and the top-k selection (sets compared with topkSelect, lower index first on ties).
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../engine/gpu/context';
import { createStorage, readF32, readU32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { indexerKeyAppend, indexerSelect, indexerTopk, tiledScoresPlan, type IndexerKeyAppendArgs } from '../../engine/kernels/indexer';
import { mlaQueryAbsorb, TILED_MIN_ROWS } from '../../engine/kernels/mla';
import { uploadWeight } from '../../engine/weights/gpu-weight';
import { buildRopeTable } from '../../engine/model/rope';
import type { ModelConfig } from '../../engine/config';
import { indexerScores, layerNorm, ropeHalf, topkSelect } from '../reference/ops';
import { expectClose, randomArray, TOLERANCE } from '../support/compare';
import { testDevice } from '../support/gpu';

const EPS = 1e-6;

// One context per layout for the file: its pipeline cache spares SwiftShader recompiling the same shapes per test.
// 'gpu' forces the layout H100s run (the tiled scores kernel); the default is the adapter's (CPU on SwiftShader).
const sharedContexts = new Map<string, Promise<GpuContext>>();
function gpuContext(layout: 'adapter' | 'gpu' = 'adapter'): Promise<GpuContext> {
  if (!sharedContexts.has(layout)) {
    sharedContexts.set(layout, testDevice().then(({ device }) => new GpuContext(device, layout === 'gpu' ? { kind: 'gpu' } : {})));
  }
  return sharedContexts.get(layout)!;
}

interface Shape { nI: number; dI: number; dR: number }

/** cos/sin [positions, dR/2] (reference layout) and the GPU's interleaved [positions, dR/2, 2] table. */
function ropeTables(dR: number, positions: number) {
  const config = {
    qkRopeHeadDim: dR,
    rope: { theta: 10000, type: 'default', factor: 1, originalMaxPositions: 4096, betaFast: 32, betaSlow: 1, mscale: 0, mscaleAllDim: 0 },
  } as unknown as ModelConfig;
  const { cos, sin } = buildRopeTable(config, positions);
  const table = new Float32Array(cos.length * 2);
  for (let i = 0; i < cos.length; i++) {
    table[2 * i] = cos[i];
    table[2 * i + 1] = sin[i];
  }
  return { cos, sin, table };
}

/** Sorted copy, for comparing selections whose order is unspecified. */
function sorted(values: ArrayLike<number>): number[] {
  return Array.from(values).sort((a, b) => a - b);
}

/**
 * How the keys reach the cache: indexerKeyAppend's own dispatch, or riding in the query absorption's dispatch
 * (mlaQueryAbsorb's indexerAppend; on the GPU layout a chunk of TILED_MIN_ROWS rows or more runs the tiled
 * absorption with the own dispatch first).
 */
type AppendPath = 'own dispatch' | 'query absorption' | 'query absorption, GPU layout';

describe('indexer key append', () => {
  const paths: AppendPath[] = ['own dispatch', 'query absorption', 'query absorption, GPU layout'];
  for (const path of paths) {
    for (const shape of [{ nI: 1, dI: 8, dR: 4 }, { nI: 3, dI: 12, dR: 4 }, { nI: 16, dI: 20, dR: 8 }]) {
      it(`caches LayerNorm + half-split RoPE keys over steps (${path}) for ${JSON.stringify(shape)}`, async () => {
        const ctx = await gpuContext(path.endsWith('GPU layout') ? 'gpu' : 'adapter');
        const device = ctx.device;
        const { nI, dI, dR } = shape;
        const maxContext = 40;
        const steps = [[5, 0], [1, 5], [4, 6], [TILED_MIN_ROWS + 1, 10]]; // [rows, pos0]
        const filled = 10 + TILED_MIN_ROWS + 1;
        const { cos, sin, table } = ropeTables(dR, maxContext);
        const ropeTable = uploadArray(device, table, 'rope');
        const normWeight = randomArray(dI, 11, 1.5), normBias = randomArray(dI, 12, 0.5);
        const keyAndWeights = createStorage(device, filled * (dI + nI) * 4, 'keyAndWeights');
        const indexerCache = uploadArray(device, new Float32Array(maxContext * dI).fill(99), 'indexerCache');
        const args = {
          keyAndWeights, nI, dI, dR, eps: EPS, indexerCache, ropeTable,
          normWeight: uploadArray(device, normWeight, 'normWeight'), normBias: uploadArray(device, normBias, 'normBias'),
        };
        const call = path === 'own dispatch' ? indexerKeyAppend(ctx, args) : absorbCarrying(ctx, args, maxContext);
        const expected = new Float64Array(filled * dI);
        for (const [rows, pos0] of steps) {
          const raw = randomArray(rows * (dI + nI), pos0 + 100 * dI, 2).map((v, i) => v + (i % 3)); // non-zero mean
          device.queue.writeBuffer(keyAndWeights, 0, raw);
          ctx.writeStep(rows, pos0, true);
          runCalls(device, [call], rows);
          const keys = new Float64Array(rows * dI);
          for (let t = 0; t < rows; t++) for (let d = 0; d < dI; d++) keys[t * dI + d] = raw[t * (dI + nI) + d];
          const normed = layerNorm(keys, normWeight, normBias, rows, dI, EPS);
          for (let t = 0; t < rows; t++) ropeHalf(normed, t * dI, dR, cos, sin, pos0 + t);
          expected.set(normed, pos0 * dI);
        }
        const cache = await readF32(device, indexerCache, maxContext * dI);
        expectClose(cache.subarray(0, filled * dI), expected, TOLERANCE.f32, 'indexer keys');
        expect(Array.from(cache.subarray(filled * dI)).every((v) => v === 99), 'rows past kv_len untouched').toBe(true);
      });
    }
  }
});

/**
 * A query absorption (2 heads, random kv_b_proj and inputs, whose own outputs mla.test.ts checks) carrying the latent
 * append and `indexer`'s key append; on SwiftShader (12 storage buffers a stage) the keys ride in its dispatch.
 */
function absorbCarrying(ctx: GpuContext, indexer: IndexerKeyAppendArgs, maxContext: number) {
  const device = ctx.device;
  const [nH, dN, dV, rKV, dR] = [2, 4, 4, 6, indexer.dR];
  const kvB = uploadWeight(device, randomArray(nH * (dN + dV) * rKV, 3, 0.4), [nH * (dN + dV), rKV], 'f32', 'kv_b_proj');
  const rows = TILED_MIN_ROWS + 1;
  return mlaQueryAbsorb(ctx, {
    q: uploadArray(device, randomArray(rows * nH * (dN + dR), 4, 1), 'q'), kvB, nH, dN, dR, dV, rKV,
    ropeTable: indexer.ropeTable, qAbs: createStorage(device, rows * nH * (rKV + dR) * 4, 'qAbs'),
    append: {
      kva: uploadArray(device, randomArray(rows * (rKV + dR), 5, 1), 'kva'), normWeight: uploadArray(device, randomArray(rKV, 6, 1), 'kvNorm'),
      eps: EPS, latentCache: createStorage(device, maxContext * (rKV + dR) * 4, 'latentCache'),
    },
    indexerAppend: indexer,
  });
}

interface SelectCase extends Shape {
  T: number;
  pos0: number;
  topk: number;
  maxContext: number;
  seed: number;
  /** Head weights all positive: every key whose dot products are all ≤ 0 scores exactly 0 (ties). */
  positiveWeights?: boolean;
  /** 'gpu' forces the GPU layout (tiled scores kernel); the adapter's by default. */
  layout?: 'adapter' | 'gpu';
}

async function runSelect(c: SelectCase) {
  const ctx = await gpuContext(c.layout);
  const device = ctx.device;
  const { nI, dI, dR, T, pos0, topk, maxContext, seed } = c;
  const { cos, sin, table } = ropeTables(dR, maxContext);
  const ropeTable = uploadArray(device, table, 'rope');
  const normWeight = randomArray(dI, seed + 1, 1), normBias = randomArray(dI, seed + 2, 0.3);
  // Keys 0..pos0 come from earlier steps (uploaded); this step's T keys go through indexerKeyAppend.
  const cacheInit = randomArray(maxContext * dI, seed + 3, 1.5);
  const indexerCache = uploadArray(device, cacheInit, 'indexerCache');
  const kw = randomArray(T * (dI + nI), seed + 4, 2);
  if (c.positiveWeights) for (let t = 0; t < T; t++) for (let j = 0; j < nI; j++) kw[t * (dI + nI) + dI + j] = Math.abs(kw[t * (dI + nI) + dI + j]) + 0.1;
  const queries = randomArray(T * nI * dI, seed + 5, 1);
  const keyAndWeights = uploadArray(device, kw, 'keyAndWeights');
  const queriesBuffer = uploadArray(device, queries, 'queries');
  const scores = uploadArray(device, new Float32Array(T * maxContext).fill(-7), 'scores');
  const indices = createStorage(device, T * topk * 4, 'indices');
  const counts = createStorage(device, T * 4, 'counts');
  const append = indexerKeyAppend(ctx, {
    keyAndWeights, nI, dI, dR, eps: EPS, indexerCache, ropeTable,
    normWeight: uploadArray(device, normWeight, 'nw'), normBias: uploadArray(device, normBias, 'nb'),
  });
  const select = indexerSelect(ctx, {
    queries: queriesBuffer, keyAndWeights, indexerCache, nI, dI, dR, ropeTable, topk, maxContext, scores, indices, counts,
  });
  ctx.writeStep(T, pos0, true);
  runCalls(device, [append, ...select], T);

  const kvLen = pos0 + T;
  const kI = await readF32(device, indexerCache, kvLen * dI); // the append is checked by its own tests
  const qI = Float64Array.from(queries);
  for (let t = 0; t < T; t++) for (let j = 0; j < nI; j++) ropeHalf(qI, (t * nI + j) * dI, dR, cos, sin, pos0 + t);
  const w = new Float64Array(T * nI);
  for (let t = 0; t < T; t++) for (let j = 0; j < nI; j++) w[t * nI + j] = kw[t * (dI + nI) + dI + j];
  return {
    reference: indexerScores({ qI, kI, w, T, nI, dI, L: kvLen, pos0 }),
    scores: await readF32(device, scores, T * maxContext),
    indices: await readU32(device, indices, T * topk),
    counts: await readU32(device, counts, T),
    queriesAfter: await readF32(device, queriesBuffer, queries.length),
    queries,
  };
}

/** Checks each row: count, scores (rows that are scored), and the selected set against topkSelect. */
function checkRows(c: SelectCase, r: Awaited<ReturnType<typeof runSelect>>): { selectedRows: number } {
  const { T, pos0, topk, maxContext } = c;
  const kvLen = pos0 + T;
  let selectedRows = 0;
  for (let t = 0; t < T; t++) {
    const n = pos0 + t + 1;
    const count = Math.min(topk, n);
    expect(r.counts[t], `counts[${t}]`).toBe(count);
    const chosen = sorted(r.indices.subarray(t * topk, t * topk + count));
    if (n <= topk) {
      expect(chosen, `row ${t} takes every key`).toEqual(Array.from({ length: n }, (_, i) => i));
      continue;
    }
    selectedRows++;
    const gpuRow = r.scores.subarray(t * maxContext, t * maxContext + n);
    const refRow = r.reference.subarray(t * kvLen, t * kvLen + n);
    expectClose(gpuRow, refRow, { atol: 2e-5, rtol: 2e-4 }, `scores row ${t}`);
    expect(chosen, `row ${t}: top-${topk} of the GPU scores`).toEqual(sorted(topkSelect(gpuRow, n, topk)));
    // Against the float64 scores too, unless rounding could swap the k-th and (k+1)-th keys.
    const order = topkSelect(refRow, n, n);
    const gap = refRow[order[topk - 1]] - refRow[order[topk]];
    if (gap > 1e-4 * (1 + Math.abs(refRow[order[topk]]))) expect(chosen, `row ${t}: float64 top-${topk}`).toEqual(sorted(order.slice(0, topk)));
  }
  return { selectedRows };
}

describe('indexer select (scores + top-k)', () => {
  const cases: SelectCase[] = [
    { nI: 3, dI: 12, dR: 4, T: 3, pos0: 0, topk: 8, maxContext: 40, seed: 1 }, // context 3, everything selected
    { nI: 3, dI: 12, dR: 4, T: 3, pos0: 0, topk: 2, maxContext: 40, seed: 2 }, // context 3, last row selects
    { nI: 16, dI: 20, dR: 8, T: 7, pos0: 33, topk: 8, maxContext: 40, seed: 3 },
    { nI: 16, dI: 20, dR: 8, T: 40, pos0: 0, topk: 8, maxContext: 40, seed: 4 }, // rows below and above topk
    { nI: 5, dI: 20, dR: 8, T: 6, pos0: 34, topk: 8, maxContext: 40, seed: 12 }, // a partly padded head group
    { nI: 1, dI: 8, dR: 4, T: 5, pos0: 695, topk: 256, maxContext: 700, seed: 5 },
    { nI: 3, dI: 12, dR: 8, T: 3, pos0: 254, topk: 256, maxContext: 700, seed: 6 }, // counts 255, 256, 257
    { nI: 16, dI: 12, dR: 4, T: 4, pos0: 696, topk: 64, maxContext: 700, seed: 7 },
    { nI: 3, dI: 12, dR: 4, T: 160, pos0: 540, topk: 64, maxContext: 700, seed: 11 }, // several key tiles per workgroup
    // GPU layout (tiled kernel): padded dim slices (dI 20 = 5 vec4 columns over 4 slices), two head blocks of 4
    // quads with 3 padded (nI 20), rows below and above topk; several tiles a workgroup.
    { nI: 20, dI: 20, dR: 8, T: 40, pos0: 0, topk: 8, maxContext: 40, seed: 14, layout: 'gpu' },
    { nI: 3, dI: 12, dR: 4, T: 110, pos0: 560, topk: 64, maxContext: 700, seed: 16, layout: 'gpu' },
    // A decode row of 259 key tiles over the 256 workgroups a one-row step launches: some walk two.
    { nI: 3, dI: 12, dR: 4, T: 1, pos0: 16520, topk: 64, maxContext: 16528, seed: 17, layout: 'gpu' },
  ];
  for (const c of cases) {
    it(`matches the reference: nI ${c.nI}, dI ${c.dI}, dR ${c.dR}, T ${c.T} at ${c.pos0}, top-${c.topk} of ≤ ${c.maxContext}${c.layout ? ', GPU layout' : ''}`, async () => {
      const r = await runSelect(c);
      checkRows(c, r);
      expect(Array.from(r.queriesAfter)).toEqual(Array.from(r.queries)); // queries are only read
    });
  }

  it.each(['adapter', 'gpu'] as const)('resolves exact-zero (ReLU) ties at the boundary towards the lower key index (%s layout)', async (layout) => {
    const c: SelectCase = { nI: 1, dI: 8, dR: 4, T: 2, pos0: 22, topk: 16, maxContext: 40, seed: 8, positiveWeights: true, layout };
    const r = await runSelect(c);
    for (let t = 0; t < c.T; t++) {
      const row = r.scores.subarray(t * c.maxContext, t * c.maxContext + c.pos0 + t + 1);
      const positive = row.filter((v) => v > 0).length;
      const zeros = row.filter((v) => v === 0).length;
      expect(positive, 'boundary falls inside the zero ties').toBeLessThan(c.topk);
      expect(positive + zeros).toBeGreaterThan(c.topk);
    }
    expect(checkRows(c, r).selectedRows).toBe(2);
  });

  it('selects at a long context in decode (T = 1)', async () => {
    const c: SelectCase = { nI: 16, dI: 20, dR: 8, T: 1, pos0: 2000, topk: 256, maxContext: 2112, seed: 9 };
    expect(checkRows(c, await runSelect(c)).selectedRows).toBe(1);
  });

  it.each(['adapter', 'gpu'] as const)('handles the real V3.2 indexer shape (64 heads × 128, dR 64, top-2048) past 2048 keys (%s layout)', async (layout) => {
    const c: SelectCase = { nI: 64, dI: 128, dR: 64, T: 2, pos0: 2100, topk: 2048, maxContext: 2112, seed: 10, layout };
    expect(checkRows(c, await runSelect(c)).selectedRows).toBe(2);
  });
});

describe('indexer top-k on crafted scores', () => {
  // The CPU layout keeps 2 x 256 keys a row in registers and reads the rest in each pass; the GPU layouts (here
  // capped at SwiftShader's 256 threads) keep 16 x 256 (rows up to 16,384 keys) or 32 x 256 (longer rows, picked
  // here by hand), i.e. every key of these rows.
  it.each([['cpu', undefined], ['gpu', undefined], ['gpu', { WG: 1024, REG: 32 }]] as const)('takes everything above the k-th value and the lowest-index ties (signed zeros, negatives, constant rows), %s layout %o', async (kind, layout) => {
    const ctx = new GpuContext((await gpuContext()).device, { kind });
    const device = ctx.device;
    const T = 4, pos0 = 696, maxContext = 700;
    const rows: number[][] = [];
    const levels = [-3, -1, -0, 0, 0.25, 1.5, 2, -1e-30, 3e38];
    const noise = randomArray(T * maxContext, 77);
    for (let t = 0; t < T; t++) {
      const n = pos0 + t + 1;
      rows.push(Array.from({ length: n }, (_, u) => {
        if (t === 0) return levels[Math.floor(Math.abs(noise[u]) * levels.length) % levels.length]; // heavy ties
        if (t === 1) return 1.25; // one value
        if (t === 2) return noise[t * maxContext + u] * 1000; // distinct
        return u % 3 === 0 ? -0 : u % 3 === 1 ? 0 : -(noise[t * maxContext + u] ** 2) - 1; // zeros on top
      }));
    }
    const flat = new Float32Array(T * maxContext).fill(Number.NaN);
    rows.forEach((row, t) => flat.set(row, t * maxContext));
    const scores = uploadArray(device, flat, 'scores');
    for (const topk of [1, 64, 256]) {
      const indices = createStorage(device, T * topk * 4, 'indices');
      const counts = createStorage(device, T * 4, 'counts');
      ctx.writeStep(T, pos0, true);
      runCalls(device, [indexerTopk(ctx, { scores, indices, counts, topk, maxContext, layout })], T);
      const got = await readU32(device, indices, T * topk);
      expect(Array.from(await readU32(device, counts, T))).toEqual([topk, topk, topk, topk]);
      rows.forEach((row, t) => {
        const expected = sorted(topkSelect(Float32Array.from(row), row.length, topk));
        expect(sorted(got.subarray(t * topk, (t + 1) * topk)), `top-${topk} row ${t}`).toEqual(expected);
      });
    }
  });
});

describe('indexer tiled scores plan', () => {
  it('fits the head quads per block to the workgroup memory', () => {
    expect(tiledScoresPlan(16, 128, 49152)).toEqual({ quadsPerBlock: 4, blocks: 1, bytes: 27200 });
    expect(tiledScoresPlan(64, 128, 49152)?.quadsPerBlock).toBe(2);
    expect(tiledScoresPlan(16, 128, 16384)?.quadsPerBlock).toBe(1);
    expect(tiledScoresPlan(5, 20, 16384)).toMatchObject({ quadsPerBlock: 2, blocks: 1 });
    expect(tiledScoresPlan(64, 128, 8192)).toBeNull();
  });
});

describe('indexer driver validation', () => {
  it('names the bad argument before building a shader', async () => {
    const ctx = await gpuContext();
    const buffer = createStorage(ctx.device, 1 << 16, 'any');
    const base = {
      queries: buffer, keyAndWeights: buffer, indexerCache: buffer, ropeTable: buffer, scores: buffer, indices: buffer,
      counts: buffer, nI: 4, dI: 16, dR: 8, topk: 8, maxContext: 64,
    };
    expect(() => indexerSelect(ctx, { ...base, dR: 5 })).toThrow(/dR/);
    expect(() => indexerSelect(ctx, { ...base, topk: 0 })).toThrow(/topk/);
    expect(() => indexerSelect(ctx, { ...base, indexerCache: createStorage(ctx.device, 64, 'small') })).toThrow(/indexerCache/);
    expect(() => indexerKeyAppend(ctx, { ...base, normWeight: buffer, normBias: buffer, eps: 0 })).toThrow(/eps/);
  });
});
