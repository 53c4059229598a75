// A conversation continued from a snapshot of its latent cache (engine/kv/latent-rows.ts) gives the logits of the
// uninterrupted run within a derived tolerance. The tolerance: storing the cache (f16 or int8) changes the model's
// input, so the exact effect is what the float64 reference (engine/reference/forward.ts) gives when its own cache
// rows are replaced by the decoded snapshot: refΔ = max |ref(restored cache) - ref(exact cache)|. The engine
// computes in f32 and matches the reference to ENGINE_ATOL (README: <= 6e-6 on these fixtures), so
// (1) restored GPU logits are within ENGINE_ATOL of ref(restored cache), and
// (2) |restored - uninterrupted| <= refΔ + 2 ENGINE_ATOL.
// The cache itself is checked exactly: the rows written back equal the decoded snapshot bit for bit.
import { beforeAll, describe, expect, it } from 'vitest';
import { readLatentImage, readLatentRows, writeLatentRows } from '../../engine/kv/latent-rows';
import { decodeRows, KV_ENCODINGS, rowLayout } from '../../engine/kv/row-encoding';
import { DeepseekForward } from '../../engine/model/forward';
import { ReferenceModel } from '../../engine/reference/forward';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { maxAbsDiff } from '../support/compare';
import { fixturePath, type FixtureName } from '../support/fixtures';
import { testDevice } from '../support/gpu';

const ENGINE_ATOL = 1e-4;
const PROMPT = 21; // rows snapshotted (three prefill chunks, the last one partial)
const CONTINUATION = 6;

interface Loaded {
  model: DeepseekForward;
  reference: ReferenceModel;
}

const loaded = new Map<FixtureName, Loaded>();
beforeAll(async () => {
  const { device } = await testDevice();
  for (const name of ['tiny-v2', 'tiny-v32'] as const) {
    const source = await openCheckpoint(fixturePath(name));
    loaded.set(name, {
      model: await DeepseekForward.create(device, source, { maxContext: 64, maxRows: 8 }),
      reference: await ReferenceModel.load(source),
    });
  }
});

function tokens(count: number, salt: number, vocab: number): number[] {
  return Array.from({ length: count }, (_, i) => (i * 53 + salt * 17 + 3) % vocab);
}

/** Replaces the reference's cached rows by an f32 image in engine/kv's layout (per layer latent, then indexer). */
function setReferenceCache(reference: ReferenceModel, image: Float32Array, rows: number): void {
  const layout = rowLayout(reference.config);
  let offset = 0;
  for (let l = 0; l < layout.layers; l++) {
    reference.latentCache(l).set(image.subarray(offset, offset + rows * layout.latentWidth));
    offset += rows * layout.latentWidth;
    if (layout.indexerWidth > 0) {
      reference.indexerKeys(l).set(image.subarray(offset, offset + rows * layout.indexerWidth));
      offset += rows * layout.indexerWidth;
    }
  }
}

/** The uninterrupted engine and reference logits of the continuation rows, once per fixture. */
const baselines = new Map<FixtureName, { uninterrupted: Float32Array; exact: Float64Array }>();
async function uninterruptedRuns(name: FixtureName, ids: number[]): Promise<{ uninterrupted: Float32Array; exact: Float64Array }> {
  if (!baselines.has(name)) {
    const { model, reference } = loaded.get(name)!;
    const vocab = model.config.vocabSize;
    model.reset();
    const uninterrupted = (await model.prefill(ids, { attention: 'dense' })).slice(PROMPT * vocab);
    baselines.set(name, { uninterrupted, exact: reference.prefill(ids, { attention: 'dense' }).slice(PROMPT * vocab) });
  }
  return baselines.get(name)!;
}

describe('latent cache snapshot and restore', () => {
  for (const name of ['tiny-v2', 'tiny-v32'] as const) {
    for (const encoding of KV_ENCODINGS) {
      it(`${name} ${encoding}: restored continuation matches the reference on the stored cache and the uninterrupted run`, async () => {
        const { model, reference } = loaded.get(name)!;
        const vocab = model.config.vocabSize;
        const ids = tokens(PROMPT + CONTINUATION, 1, vocab);
        const [prompt, continuation] = [ids.slice(0, PROMPT), ids.slice(PROMPT)];
        const attention = 'dense' as const; // DSA's top-k can flip on near-ties under any rounding; dense shows the cache error alone
        const { uninterrupted, exact } = await uninterruptedRuns(name, ids);

        model.reset();
        await model.prefill(prompt, { attention });
        const snapshot = await readLatentRows(model, 0, PROMPT, encoding);
        expect(snapshot.tokens).toBe(PROMPT);
        model.reset();
        await model.prefill(tokens(PROMPT + 3, 9, vocab), { attention }); // other rows in the caches, then restore over them
        model.reset();
        writeLatentRows(model, snapshot);
        expect(model.position).toBe(PROMPT);
        const stored = decodeRows(snapshot, rowLayout(model.config));
        expect(await readLatentImage(model, 0, PROMPT), 'rows written back = decoded snapshot').toEqual(stored);
        const restored = await model.prefill(continuation, { attention });

        reference.prefill(prompt, { attention });
        setReferenceCache(reference, stored, PROMPT);
        const onStored = reference.extend(continuation, { attention });
        const referenceDelta = maxAbsDiff(onStored, exact);
        const engineError = maxAbsDiff(restored, onStored);
        const restoreDelta = maxAbsDiff(restored, uninterrupted);
        console.log(`${name} ${encoding}: |restored - uninterrupted| ${restoreDelta.toExponential(2)}, reference's own change ` +
          `${referenceDelta.toExponential(2)}, engine vs reference ${engineError.toExponential(2)}`);
        expect(engineError).toBeLessThanOrEqual(ENGINE_ATOL);
        expect(restoreDelta).toBeLessThanOrEqual(referenceDelta + 2 * ENGINE_ATOL);
      });
    }
  }

  it('tiny-v32 sparse: snapshots of two row ranges, written in order, put back exactly those rows', async () => {
    const { model } = loaded.get('tiny-v32')!;
    model.reset();
    await model.prefill(tokens(20, 4, model.config.vocabSize));
    const head = await readLatentRows(model, 0, 12, 'f16');
    const tail = await readLatentRows(model, 12, 20, 'f16');
    model.reset();
    expect(() => writeLatentRows(model, tail), 'no gap before the rows').toThrow(RangeError);
    writeLatentRows(model, head);
    writeLatentRows(model, tail);
    expect(model.position).toBe(20);
    expect((await readLatentRows(model, 0, 12, 'f16')).values).toEqual(head.values);
    expect((await readLatentRows(model, 12, 20, 'f16')).values).toEqual(tail.values);
    expect(() => writeLatentRows(model, { ...head, values: head.values.subarray(1) }, 0)).toThrow(/damaged or for another model/);
  });
});
