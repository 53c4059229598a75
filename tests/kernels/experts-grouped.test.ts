// The routed experts grouped by expert (experts-grouped.ts: bucket, grouped gate/up + SiLU matmul, grouped down
// matmul, weighted combine) against the float64 reference on the stored weights: act[t, j] = silu(Wg[id]·x[t]) ·
// (Wu[id]·x[t]) and out[t] = residual[t] + Σ_j w[t, j] · (Wd[id]·act[t, j]). Odd shapes: token counts not multiples
// of the expert tiles (16/32/64 rows), experts no token picked, one expert holding every token (several tiles of
// it), repeated ids within a token, N and K not multiples of the 64/128-wide output blocks or the 16-wide K slices,
// f32, f16, q8 and q4 weights; 4 and 8 token rows a matmul thread; each call built once and run for several step
// sizes. atol = 1e-5·max|ref|, rtol = 1e-4.
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../engine/gpu/context';
import { createStorage, readF32, readU32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import { createExpertGroupBuffers, expertTileRows, groupedExperts, maxExpertTiles } from '../../engine/kernels/experts-grouped';
import { uploadWeight } from '../../engine/weights/gpu-weight';
import { linear as linearRef, silu } from '../reference/ops';
import { expectClose, randomArray, type Tolerance } from '../support/compare';
import { testDevice } from '../support/gpu';
import { asUpload, PLAIN, QUANTISED, storageName, storedValues, type Storage } from '../support/stored-weights';

function tolerance(expected: ArrayLike<number>): Tolerance {
  let magnitude = 0;
  for (let i = 0; i < expected.length; i++) magnitude = Math.max(magnitude, Math.abs(expected[i]));
  return { atol: 1e-5 * Math.max(magnitude, 1e-6), rtol: 1e-4 };
}

interface Case {
  what: string;
  steps: number[]; // step sizes run through one built call; the largest is the buffers' capacity
  topK: number;
  experts: number;
  hidden: number;
  inter: number;
  ids: (rows: number, topK: number) => Uint32Array;
  storages: Storage[];
}

const random = (experts: number, seed: number) => (rows: number, topK: number) => {
  const ids = Uint32Array.from(randomArray(rows * topK, seed), (v) => Math.floor((v + 1) / 2 * experts) % experts);
  if (topK > 1) ids[1] = ids[0]; // a repeated id within a token's row
  return ids;
};

const CASES: Case[] = [
  { what: 'random ids, odd H, I over two output blocks', steps: [5, 2], topK: 3, experts: 5, hidden: 33, inter: 130,
    ids: random(5, 1), storages: [PLAIN[0], QUANTISED[0], QUANTISED[1]] }, // f16: the next cases
  { what: 'experts 1, 2 and 4 unpicked', steps: [21, 9], topK: 2, experts: 6, hidden: 75, inter: 40,
    ids: (rows, k) => Uint32Array.from({ length: rows * k }, (_, s) => [0, 3, 5][(s * 7 + (s >> 2)) % 3]), storages: [PLAIN[1], QUANTISED[3]] },
  { what: 'one expert holding every token', steps: [37, 17, 3], topK: 1, experts: 5, hidden: 64, inter: 48,
    ids: (rows, k) => new Uint32Array(rows * k).fill(2), storages: [PLAIN[0], QUANTISED[1]] },
  { what: 'two 32-row tiles of some experts, I over four output blocks', steps: [40, 7], topK: 2, experts: 5, hidden: 130, inter: 200,
    ids: random(5, 3), storages: [PLAIN[1]] },
  { what: 'many tokens per expert (64-row tiles), packed-friendly H and I', steps: [70, 64, 33], topK: 2, experts: 4, hidden: 96, inter: 64,
    ids: random(4, 5), storages: [QUANTISED[1], QUANTISED[2]] },
];

describe('grouped routed experts', () => {
  for (const c of CASES) {
    for (const storage of c.storages) {
      const capacity = Math.max(...c.steps);
      it(`${c.what}: E=${c.experts}, k=${c.topK}, H=${c.hidden}, I=${c.inter}, ${storageName(storage)}, T in {${c.steps}} (tile ${expertTileRows(capacity, c.topK, c.experts)} rows)`, async () => {
        const { device } = await testDevice();
        const { topK, experts: E, hidden: H, inter: I } = c;
        const seed = H * 7 + I;
        const x = randomArray(capacity * H, seed, 2);
        const gateUp = randomArray(E * 2 * I * H, seed + 1), down = randomArray(E * H * I, seed + 2);
        const ids = c.ids(capacity, topK);
        const routeWeights = randomArray(capacity * topK, seed + 3).map((v) => v + 1.5);
        const residual = randomArray(capacity * H, seed + 4, 3);
        const act = createStorage(device, capacity * topK * I * 4, 'act');
        const output = createStorage(device, capacity * H * 4, 'out');
        const args = {
          input: uploadArray(device, x, 'x'),
          gateUp: uploadWeight(device, gateUp, [E, 2 * I, H], asUpload(storage), 'gate_up'),
          down: uploadWeight(device, down, [E, H, I], asUpload(storage), 'down'),
          expertIds: uploadArray(device, ids, 'ids'), expertWeights: uploadArray(device, routeWeights, 'rw'), topK, act, output,
          groups: createExpertGroupBuffers(device, capacity, topK, E, H),
        };
        const gateUpStored = storedValues(gateUp, H, storage), downStored = storedValues(down, I, storage);
        // Both matmul thread layouts (4 and 8 token rows a thread), each over every step size.
        for (const matmulThreadRows of [4, 8] as const) {
          const ctx = new GpuContext(device, { kind: 'gpu', matmulThreadRows });
          const calls = groupedExperts(ctx, args);
          expect(calls.map((call) => call.name)).toEqual(['experts_group', 'experts_grouped_swiglu', 'experts_grouped_down', 'experts_combine']);
          for (const rows of c.steps) {
            device.queue.writeBuffer(output, 0, residual);
            ctx.writeStep(rows, 0, false);
            runCalls(device, calls, rows);
            const actExpected = new Float64Array(rows * topK * I);
            const outExpected = Float64Array.from(residual.subarray(0, rows * H));
            for (let slot = 0; slot < rows * topK; slot++) {
              const t = Math.floor(slot / topK), id = ids[slot];
              const gu = linearRef(x.subarray(t * H, (t + 1) * H), gateUpStored.subarray(id * 2 * I * H, (id + 1) * 2 * I * H), 1, 2 * I, H);
              for (let n = 0; n < I; n++) actExpected[slot * I + n] = silu(gu[n]) * gu[I + n];
              const y = linearRef(Float32Array.from(actExpected.subarray(slot * I, (slot + 1) * I)), downStored.subarray(id * H * I, (id + 1) * H * I), 1, H, I);
              for (let h = 0; h < H; h++) outExpected[t * H + h] += routeWeights[slot] * y[h];
            }
            const what = `T=${rows}, ${matmulThreadRows} rows a thread`;
            expectClose(await readF32(device, act, rows * topK * I), actExpected, tolerance(actExpected), `act ${what}`);
            expectClose(await readF32(device, output, rows * H), outExpected, tolerance(outExpected), `out ${what}`);
            const rest = await readF32(device, output, (capacity - rows) * H, rows * H * 4);
            expect(Array.from(rest), 'rows past the step').toEqual(Array.from(residual.subarray(rows * H)));
          }
        }
      });
    }
  }

  it('sorts the slots by expert into tiles of at most the tile rows, each slot once', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device, { kind: 'gpu' });
    const rows = 40, topK = 3, E = 7, H = 8, I = 8;
    const ids = Uint32Array.from({ length: rows * topK }, (_, s) => (s % 5 === 0 ? 6 : s % 3 === 0 ? 1 : 4));
    const groups = createExpertGroupBuffers(device, rows, topK, E, H);
    const buf = (n: number) => createStorage(device, n * 4, 'b');
    const calls = groupedExperts(ctx, {
      input: buf(rows * H), gateUp: uploadWeight(device, randomArray(E * 2 * I * H, 1), [E, 2 * I, H], 'f32', 'gu'),
      down: uploadWeight(device, randomArray(E * H * I, 2), [E, H, I], 'f32', 'd'), expertIds: uploadArray(device, ids, 'ids'),
      expertWeights: buf(rows * topK), topK, act: buf(rows * topK * I), output: buf(rows * H), groups,
    });
    ctx.writeStep(rows, 0, false);
    runCalls(device, calls.slice(0, 1), rows);
    const tileRows = expertTileRows(rows, topK, E);
    const tiles = await readU32(device, groups.tiles, 4 * (1 + maxExpertTiles(rows, topK, E, tileRows)));
    const sorted = await readU32(device, groups.sortedSlots, rows * topK);
    const counts = [0, 1, 4, 6].map((e) => ids.filter((id) => id === e).length);
    expect(tiles[0]).toBe(counts.reduce((sum, n) => sum + Math.ceil(n / tileRows), 0));
    const seen: number[] = [];
    for (let i = 0; i < tiles[0]; i++) {
      const [expert, first, count] = tiles.subarray(4 * (1 + i), 4 * (1 + i) + 3);
      expect(count).toBeGreaterThan(0);
      expect(count).toBeLessThanOrEqual(tileRows);
      for (const slot of sorted.subarray(first, first + count)) {
        expect(ids[slot]).toBe(expert);
        seen.push(slot);
      }
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: rows * topK }, (_, s) => s));
  });

  it('validates its arguments before building a shader', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device, { kind: 'gpu' });
    const buf = (n: number) => createStorage(device, n * 4, 'b');
    const args = {
      input: buf(4 * 8), gateUp: uploadWeight(device, randomArray(3 * 12 * 8, 1), [3, 12, 8], 'f32', 'gu'),
      down: uploadWeight(device, randomArray(3 * 8 * 6, 2), [3, 8, 6], 'f32', 'd'), expertIds: buf(8), expertWeights: buf(8),
      topK: 2, act: buf(4 * 12), output: buf(4 * 8), groups: createExpertGroupBuffers(device, 4, 2, 3, 8),
    };
    expect(() => groupedExperts(ctx, { ...args, topK: 4 })).toThrow(/topK/);
    expect(() => groupedExperts(ctx, { ...args, down: { ...args.down, shape: [3, 8, 5] } })).toThrow(/\[E, 2I, H\]/);
    expect(() => groupedExperts(ctx, { ...args, groups: { ...args.groups, tiles: buf(4) } })).toThrow(/tiles/);
    const calls = groupedExperts(ctx, args);
    expect(() => calls[1].encode({} as GPUComputePassEncoder, 5)).toThrow(/rows=5/);
  });
});
