// Issue 5: tensors a package stores as they are uploaded go to their GPU buffers piece by piece
// (TensorSource.streamPacked -> TensorStorage.streamed -> uploadStreamed), never whole in JS memory. The committed
// trained model (q8 with fused gate;up and stacked experts, whose scale rows must land after all data rows) is
// loaded twice on the real adapter: through a source that streams its shards in 64 KiB pieces, and through the
// whole-tensor path; every GPU buffer of the two loads holds the same bytes.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBuffer } from '../../engine/gpu/buffers';
import { loadModelWeights } from '../../engine/model/weights';
import { openPackage } from '../../engine/package/package-node';
import { createPackageSource } from '../../engine/package/package-source';
import { readFileRange } from '../../engine/weights/read-range-node';
import { testDevice } from '../support/gpu';
import { TRAINED_MODEL_DIR } from '../support/trained-model';

const PIECE = 64 * 1024;

const read = (file: string, offset: number, length: number) =>
  readFileRange(join(TRAINED_MODEL_DIR, file), offset, length, (done) => new Error(`${file}: short read at ${done}`));

/** Every GPUBuffer in `value` (a ModelWeights tree), in a fixed walk order. */
function buffersOf(value: unknown, out: GPUBuffer[] = []): GPUBuffer[] {
  if (value instanceof GPUBuffer) out.push(value);
  else if (Array.isArray(value)) value.forEach((item) => buffersOf(item, out));
  else if (value && typeof value === 'object') Object.keys(value).sort().forEach((key) => buffersOf((value as Record<string, unknown>)[key], out));
  return out;
}

describe('streamed upload of a stored package', () => {
  it('fills every weight buffer with exactly the bytes of the whole-tensor load', async () => {
    const { device } = await testDevice();
    const { manifest, source: whole } = await openPackage(TRAINED_MODEL_DIR);
    let pieces = 0;
    const streaming = createPackageSource(manifest, read, 'streaming', async (file, offset, length, sink) => {
      const bytes = await read(file, offset, length);
      for (let at = 0; at < length; at += PIECE) { sink(bytes.subarray(at, at + PIECE), at); pieces++; }
    });
    const plan = manifest.quantisation.plan;
    const streamed = buffersOf(await loadModelWeights(device, streaming, plan));
    expect(pieces).toBeGreaterThan(manifest.tensors.length); // the streamed path was taken, in many pieces
    const reference = buffersOf(await loadModelWeights(device, whole, plan));
    expect(streamed.length).toBe(reference.length);
    expect(streamed.length).toBeGreaterThan(10);
    for (let i = 0; i < streamed.length; i++) {
      expect(streamed[i].size).toBe(reference[i].size);
      const [a, b] = await Promise.all([readBuffer(device, streamed[i], streamed[i].size), readBuffer(device, reference[i], reference[i].size)]);
      expect(Buffer.from(a).equals(Buffer.from(b)), `buffer ${i} (${streamed[i].label})`).toBe(true);
    }
  });
});
