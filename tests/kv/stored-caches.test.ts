// Conversations' caches saved to and restored from a KvStore (engine/kv/stored-caches.ts) on tiny-v32, through the
// same encode/decode and chunk logic the worker uses with IndexedDB (here the in-memory KvStore; the e2e test uses
// real IndexedDB). A new StoredCaches on the same store stands for a reload. Checked: a restored conversation
// continues with exactly the logits of the same rows written back directly, with the uninterrupted run's greedy
// ids and within the encoding's tolerance of its logits (f16 / int8: bounds measured and documented in the README,
// derivation in tests/kv/latent-rows.test.ts); a diverging prompt keeps only the matching prefix; a damaged or
// missing chunk keeps the chunks before it and drops the rest; another model's cache is dropped; the byte budget
// drops the least recently used conversation first, and a lowered budget does so at once; summaries report each
// conversation's bytes, tokens and chunk formats (f16 rows then int8 rows after a format change); forget deletes
// every record.
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryKvStore } from '../../engine/kv/kv-store';
import { readLatentRows, writeLatentRows } from '../../engine/kv/latent-rows';
import { kvBytesPerToken } from '../../engine/kv/kv-bytes';
import { KV_ENCODINGS, type KvEncoding } from '../../engine/kv/row-encoding';
import { StoredCaches, type StoredChunk } from '../../engine/kv/stored-caches';
import { DeepseekForward } from '../../engine/model/forward';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { maxAbsDiff } from '../support/compare';
import { fixturePath } from '../support/fixtures';
import { testDevice } from '../support/gpu';

const IDENTITY = { name: 'tiny-v32', manifestHash: 'a'.repeat(64) };
// |restored - uninterrupted| over the continuation's logits, relative to their largest magnitude (README).
const RELATIVE_BOUND: Record<KvEncoding, number> = { f16: 1e-3, int8: 3e-2 };
const attention = 'dense' as const;
let model: DeepseekForward;
beforeAll(async () => {
  const { device } = await testDevice();
  model = await DeepseekForward.create(device, await openCheckpoint(fixturePath('tiny-v32')), { maxContext: 64, maxRows: 8 });
});

function tokens(count: number, salt: number): number[] {
  return Array.from({ length: count }, (_, i) => (i * 31 + salt * 17 + 3) % 64);
}

function argmaxRows(logits: Float32Array): number[] {
  const vocab = model.config.vocabSize;
  return Array.from({ length: logits.length / vocab }, (_, r) => {
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[r * vocab + v] > logits[r * vocab + best]) best = v;
    return best;
  });
}

/** Runs `turns` from an empty cache, saving after each turn as the worker does; returns the store. */
async function saveTurns(store: MemoryKvStore, id: string, turns: number[][], encoding: KvEncoding, budgetBytes = 1 << 30): Promise<StoredCaches> {
  const stored = new StoredCaches(store, { encoding, budgetBytes });
  await stored.ready;
  model.reset();
  const ids: number[] = [];
  for (const turn of turns) {
    await model.prefill(turn, { attention });
    ids.push(...turn);
    const from = stored.appendFrom(id, IDENTITY, ids);
    await stored.append(id, IDENTITY, ids, readLatentRows(model, from, ids.length, encoding));
  }
  return stored;
}

/** Fills the caches with other rows, as after a reload nothing of the conversation is on the GPU. */
async function scramble(): Promise<void> {
  model.reset();
  await model.prefill(tokens(30, 99), { attention });
  model.reset();
}

describe('stored latent caches', () => {
  const first = tokens(13, 1);
  const second = tokens(9, 2);
  const next = tokens(6, 3);

  for (const encoding of KV_ENCODINGS) {
    it(`${encoding}: a restored conversation continues like the uninterrupted run`, async () => {
      model.reset();
      const uninterrupted = (await model.prefill([...first, ...second, ...next], { attention })).slice((first.length + second.length) * model.config.vocabSize);
      const store = new MemoryKvStore();
      await saveTurns(store, 'c', [first, second], encoding);
      const reloaded = new StoredCaches(store, { encoding, budgetBytes: 1 << 30 });
      expect(reloaded.record('c'), 'nothing before ready').toBeUndefined();
      await reloaded.ready;
      expect(reloaded.record('c')!.chunks.map((c) => [c.from, c.tokens])).toEqual([[0, 13], [13, 9]]);
      await scramble();
      const restoredRows = await reloaded.restore('c', IDENTITY, [...first, ...second, ...next], model);
      expect(restoredRows).toBe(first.length + second.length);
      const restored = await model.prefill(next, { attention });

      model.reset(); // the same chunks written back directly: the store adds nothing to the encoding's error
      for (const key of ['chunk:c:0', 'chunk:c:13']) writeLatentRows(model, (await store.get<StoredChunk>(key))!);
      expect(await model.prefill(next, { attention })).toEqual(restored);
      const largest = uninterrupted.reduce((most, x) => Math.max(most, Math.abs(x)), 0);
      const relative = maxAbsDiff(restored, uninterrupted) / largest;
      console.log(`${encoding}: |restored - uninterrupted| / max|logit| = ${relative.toExponential(2)}`);
      expect(relative).toBeLessThanOrEqual(RELATIVE_BOUND[encoding]);
      if (encoding === 'f16') expect(argmaxRows(restored)).toEqual(argmaxRows(uninterrupted));
    });
  }

  it('a diverging prompt keeps the matching prefix; the next save replaces the chunks past it', async () => {
    const store = new MemoryKvStore();
    const stored = await saveTurns(store, 'e', [first, second], 'f16');
    const edited = [...first, ...second.slice(0, 4), 7, 8, 9];
    await scramble();
    expect(await stored.restore('e', IDENTITY, edited, model)).toBe(first.length + 4);
    expect(stored.appendFrom('e', IDENTITY, edited), 'the first chunk still matches').toBe(first.length);
    await model.prefill(edited.slice(first.length + 4), { attention });
    await stored.append('e', IDENTITY, edited, readLatentRows(model, first.length, edited.length, 'f16'));
    expect(stored.record('e')!.tokenIds).toEqual(edited);
    expect([...store.entries.keys()].filter((k) => k.startsWith('chunk:e:')).sort()).toEqual(['chunk:e:0', 'chunk:e:13']);
    expect((await store.get<StoredChunk>('chunk:e:13'))!.tokenIds).toEqual(edited.slice(13));
  });

  it('a damaged or missing chunk keeps the chunks before it and drops it and the rest', async () => {
    const prompt = [...first, ...second, ...next];
    for (const damage of ['short values', 'missing', 'other ids'] as const) {
      const store = new MemoryKvStore();
      await saveTurns(store, 'd', [first, second, next.slice(0, 3)], 'int8');
      const chunk = (await store.get<StoredChunk>('chunk:d:13'))!;
      if (damage === 'short values') await store.set('chunk:d:13', { ...chunk, values: chunk.values.slice(1) });
      if (damage === 'missing') await store.del('chunk:d:13');
      if (damage === 'other ids') await store.set('chunk:d:13', { ...chunk, tokenIds: chunk.tokenIds.map((id) => id + 1) });
      const reloaded = new StoredCaches(store, { encoding: 'int8', budgetBytes: 1 << 30 });
      await scramble();
      expect(await reloaded.restore('d', IDENTITY, prompt, model), damage).toBe(first.length);
      expect(model.position).toBe(first.length);
      expect(reloaded.record('d')!.tokenIds).toEqual(first);
      expect([...store.entries.keys()].sort(), damage).toEqual(['chunk:d:0', 'conversation:d']);
    }
  });

  it("another model's cache is not restored but dropped", async () => {
    const store = new MemoryKvStore();
    await saveTurns(store, 'm', [first], 'f16');
    const reloaded = new StoredCaches(store, { encoding: 'f16', budgetBytes: 1 << 30 });
    model.reset();
    expect(await reloaded.restore('m', { ...IDENTITY, manifestHash: 'b'.repeat(64) }, [...first, ...next], model)).toBe(0);
    expect(model.position).toBe(0);
    expect(store.entries.size).toBe(0);
  });

  it('over the budget the least recently used conversation loses its cache first; forget deletes a cache', async () => {
    const store = new MemoryKvStore();
    const one = await saveTurns(store, 'x', [first], 'f16');
    const bytes = one.sizes().x;
    expect(bytes).toBe(first.length * model.config.numLayers * (model.config.kvLoraRank + model.config.qkRopeHeadDim + model.config.indexer!.headDim) * 2);
    await saveTurns(store, 'y', [first], 'f16', 2 * bytes);
    const stored = await saveTurns(store, 'z', [first], 'f16', 2 * bytes); // a third: x, used least recently, goes
    expect(stored.sizes()).toEqual({ y: bytes, z: bytes });
    expect([...store.entries.keys()].some((k) => k.endsWith(':x') || k.includes(':x:'))).toBe(false);
    model.reset();
    expect(await stored.restore('y', IDENTITY, [...first, ...next], model)).toBe(first.length); // y now used last
    await model.prefill(next, { attention });
    stored.options.budgetBytes = 2 * bytes + next.length * (bytes / first.length);
    const w = await saveTurns(store, 'w', [first], 'f16', stored.options.budgetBytes);
    expect(Object.keys(w.sizes()).sort(), 'z was used least recently').toEqual(['w', 'y']);
    await w.forget('y');
    expect([...store.entries.keys()].sort()).toEqual(['chunk:w:0', 'conversation:w']);
  });

  it('summaries give bytes, tokens and formats per conversation; lowering the budget evicts at once, LRU first', async () => {
    const store = new MemoryKvStore();
    const stored = new StoredCaches(store, { encoding: 'f16', budgetBytes: 1 << 30 });
    const perToken = kvBytesPerToken(model.config);
    const save = async (id: string, ids: number[], turn: number[]) => {
      await model.prefill(turn, { attention });
      const from = stored.appendFrom(id, IDENTITY, ids);
      await stored.append(id, IDENTITY, ids, readLatentRows(model, from, ids.length, stored.options.encoding));
    };
    model.reset();
    await save('u', first, first);
    stored.options.encoding = 'int8'; // the format setting changed: the next rows are saved as int8
    await save('u', [...first, ...second], second);
    model.reset();
    await save('v', next, next);
    expect(await stored.summaries()).toEqual({
      u: { bytes: first.length * perToken.latentF16 + second.length * perToken.latentInt8, tokens: first.length + second.length, encodings: ['f16', 'int8'] },
      v: { bytes: next.length * perToken.latentInt8, tokens: next.length, encodings: ['int8'] },
    });
    stored.options.budgetBytes = next.length * perToken.latentInt8; // room for v alone; u was used least recently
    const evicted = stored.enforceBudgetNow();
    expect(Object.keys(await stored.summaries()), 'summaries wait for the eviction').toEqual(['v']);
    await evicted;
    expect([...store.entries.keys()].sort()).toEqual(['chunk:v:0', 'conversation:v']);
    stored.options.budgetBytes = 0;
    await stored.enforceBudgetNow();
    expect(await stored.summaries()).toEqual({});
    expect(store.entries.size).toBe(0);
  });
});
