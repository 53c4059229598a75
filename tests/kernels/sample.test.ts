// The GPU sampler (shaders/sample.wgsl) against the f32 CPU reference (engine/reference/sample.ts): the exact id
// for every combination of temperature, top-k, top-p and repetition penalty on odd vocabularies (1000, 5003, 129280),
// ties at the top-k boundary (within a slice and across the slices the first dispatch splits the row into), on
// both adapter kinds' layouts (CPU: the whole row in one workgroup; GPU: slices beyond 4,096 logits),
// temperature 0 = argmax, the seen bitmap and the chained embedding input, and a chi-square test that many seeded
// draws follow the reference's top-k/top-p distribution (fixed seeds: exact).
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../engine/gpu/context';
import type { MatvecKind } from '../../engine/kernels/matvec-shape';
import { readU32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { createSampler, sampleSlices, type Sampler, type SamplingSettings } from '../../engine/kernels/sample';
import { candidateDistribution, sampleToken } from '../../engine/reference/sample';
import { randomArray } from '../support/compare';
import { testDevice } from '../support/gpu';

interface Rig { device: GPUDevice; ctx: GpuContext; sampler: Sampler; tokenIds: GPUBuffer; fed: Uint32Array }

/** Logits [rows, V] (the sampler reads the last row), fed ids = the step's rows, plus ids seen before. */
async function rig(logits: Float32Array, vocab: number, fed: number[], seenBefore: number[], kind: MatvecKind = 'gpu'): Promise<Rig> {
  const { device } = await testDevice();
  const ctx = new GpuContext(device, { kind });
  const tokenIds = uploadArray(device, Uint32Array.from(fed), 'token_ids');
  const sampler = createSampler(ctx, { logits: uploadArray(device, logits, 'logits'), vocab, tokenIds });
  const bits = new Uint32Array(Math.ceil(vocab / 32));
  for (const id of seenBefore) bits[id >> 5] |= 1 << (id & 31);
  device.queue.writeBuffer(sampler.seen, 0, bits);
  ctx.writeStep(fed.length, 0, false);
  return { device, ctx, sampler, tokenIds, fed: Uint32Array.from(fed) };
}

/** One sampling step; the fed ids are restored first (the previous draw wrote its pick into token_ids[0]). */
async function draw(r: Rig, settings: SamplingSettings, counter: number): Promise<number> {
  r.device.queue.writeBuffer(r.tokenIds, 0, r.fed);
  r.sampler.writeSettings(settings, counter);
  runCalls(r.device, [r.sampler.sample], r.fed.length);
  const [id] = await readU32(r.device, r.sampler.sampled, 1);
  return id;
}

function lastRow(logits: Float32Array, vocab: number): Float32Array {
  return logits.subarray(logits.length - vocab);
}

const SETTINGS: SamplingSettings[] = [];
for (const temperature of [0, 0.6, 1.5]) {
  for (const topK of [0, 1, 7, 300]) {
    for (const topP of [1, 0.85, 0.2]) {
      for (const repetitionPenalty of [1, 1.3]) SETTINGS.push({ temperature, topK, topP, repetitionPenalty, seed: 1234 });
    }
  }
}

/** How a layout splits a row, for test names. */
function slices(vocab: number, kind: MatvecKind): string {
  const { groups, perThread } = sampleSlices(vocab, kind);
  return `${kind} layout: ${groups === 1 ? 'one slice' : `${groups} slices`} of ${perThread} a thread`;
}

describe('sample kernel', () => {
  for (const [vocab, kind] of [[5003, 'gpu'], [129280, 'gpu'], [1000, 'cpu'], [129280, 'cpu']] as const) {
    const every = vocab < 10000;
    it(`picks the reference's id for ${every ? 'all' : 'a sixth of the'} ${SETTINGS.length} setting combinations, V = ${vocab} (${slices(vocab, kind)})`, async () => {
      const logits = randomArray(2 * vocab, vocab, 4);
      // Make the seen ids matter: two of them are among the largest logits, one positive and one negative.
      const fed = [3, vocab - 1];
      const seenBefore = [10, 11, vocab >> 1];
      logits[vocab + 10] = 9; logits[vocab + 11] = -9; logits[vocab + 3] = 8.5;
      const r = await rig(logits, vocab, fed, seenBefore, kind);
      const settingsList = every ? SETTINGS : SETTINGS.filter((_, i) => i % 6 === 1);
      for (const [i, settings] of settingsList.entries()) {
        for (const counter of [0, 7 + i]) {
          const want = sampleToken(lastRow(logits, vocab), [...fed, ...seenBefore], settings, counter);
          expect(await draw(r, settings, counter), JSON.stringify({ settings, counter })).toBe(want);
        }
      }
      const last = await draw(r, settingsList[5], 3);
      expect((await readU32(r.device, r.tokenIds, 1))[0], 'the chosen id feeds the next embedding').toBe(last);
      const bits = await readU32(r.device, r.sampler.seen, Math.ceil(vocab / 32));
      const marked = [...bits].flatMap((w, j) => Array.from({ length: 32 }, (_, b) => ((w >>> b) & 1 ? 32 * j + b : -1))).filter((id) => id >= 0);
      expect(marked, 'seen = the ids seen before plus the fed ids').toEqual([...fed, ...seenBefore].sort((a, b) => a - b));
    });
  }

  for (const [vocab, kind] of [[777, 'cpu'], [40961, 'gpu']] as const) {
    it(`breaks ties towards the lower id: greedy and at the top-k boundary, V = ${vocab} (${slices(vocab, kind)})`, async () => {
      const logits = Float32Array.from(randomArray(vocab, 5, 3), (x) => Math.round(x)); // values in {-3..3}: many ties
      const r = await rig(logits, vocab, [0], [], kind);
      const max = Math.max(...logits);
      expect(await draw(r, { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0 }, 0)).toBe(logits.indexOf(max));
      for (const topK of [1, 3, 50, 256]) {
        const settings = { temperature: 2, topK, topP: 1, repetitionPenalty: 1, seed: 99 };
        const support = candidateDistribution(logits, [0], settings);
        for (let counter = 0; counter < 20; counter++) {
          const id = await draw(r, settings, counter);
          expect(support.has(id), `topK ${topK}: ${id} outside the reference's candidates`).toBe(true);
          expect(id).toBe(sampleToken(logits, [0], settings, counter));
        }
      }
    });
  }

  it('temperature 0 is the argmax of the penalised logits, whatever top-k and top-p say', async () => {
    const vocab = 4099;
    const logits = randomArray(vocab, 77, 2);
    logits[100] = 5; logits[200] = 4.5; // id 100 is seen: 5 / 1.5 < 4.5 → 200 wins
    const r = await rig(logits, vocab, [100], []);
    for (const [topK, topP] of [[0, 1], [5, 0.1], [1, 0.5]]) {
      expect(await draw(r, { temperature: 0, topK, topP, repetitionPenalty: 1, seed: 5 }, 1)).toBe(100);
      expect(await draw(r, { temperature: 0, topK, topP, repetitionPenalty: 1.5, seed: 5 }, 1)).toBe(200);
    }
  });

  it('draws follow the reference distribution over many seeds (chi-square, fixed seeds)', async () => {
    const vocab = 301;
    const logits = randomArray(vocab, 31, 3);
    const r = await rig(logits, vocab, [1], []);
    const results = r.device.createBuffer({ size: 4 * 400, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC | GPUBufferUsage.STORAGE });
    for (const settings of [
      { temperature: 1, topK: 40, topP: 0.9, repetitionPenalty: 1.2, seed: 0 },
      { temperature: 0.7, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0 },
    ]) {
      const n = 400;
      for (let i = 0; i < n; i++) {
        r.device.queue.writeBuffer(r.tokenIds, 0, r.fed);
        r.sampler.writeSettings({ ...settings, seed: 1000 + i }, i);
        const encoder = r.device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        r.sampler.sample.encode(pass, 1);
        pass.end();
        encoder.copyBufferToBuffer(r.sampler.sampled, 0, results, 4 * i, 4);
        r.device.queue.submit([encoder.finish()]);
      }
      const ids = await readU32(r.device, results, n);
      const p = candidateDistribution(logits, [1], settings);
      ids.forEach((id, i) => expect(id, `draw ${i}`).toBe(sampleToken(logits, [1], { ...settings, seed: 1000 + i }, i)));
      expectChiSquare(Array.from(ids), p, 'GPU draws');
      // The same seeded draw, many more times on the CPU: enough samples to see a distribution off by a little.
      const many = Array.from({ length: 20000 }, (_, i) => sampleToken(logits, [1], { ...settings, seed: 50000 + i }, i));
      expectChiSquare(many, p, 'reference draws');
    }
  });
});

/** Chi-square goodness of fit at the 0.1 % level: candidates with expected count >= 5, the rest pooled. */
function expectChiSquare(ids: number[], p: Map<number, number>, what: string): void {
  const counts = new Map<number, number>();
  for (const id of ids) {
    expect(p.has(id), `${what}: ${id} is outside the top-k/top-p support`).toBe(true);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  let chi = 0;
  let bins = 0;
  let restExpected = 0;
  let restObserved = 0;
  for (const [id, prob] of p) {
    const expected = prob * ids.length;
    const observed = counts.get(id) ?? 0;
    if (expected >= 5) { chi += (observed - expected) ** 2 / expected; bins++; } else { restExpected += expected; restObserved += observed; }
  }
  if (restExpected > 0) { chi += (restObserved - restExpected) ** 2 / restExpected; bins++; }
  expect(bins, `${what}: bins`).toBeGreaterThan(5);
  expect(chi, `${what}: chi-square ${chi.toFixed(1)} over ${bins} bins`).toBeLessThan(chiSquareCritical(bins - 1));
}

/** 99.9 % quantile of chi-square with `df` degrees of freedom (Wilson–Hilferty). */
function chiSquareCritical(df: number): number {
  const z = 3.0902;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}
