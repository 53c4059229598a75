// Greedy generation with the sampled id kept on the GPU reproduces transformers' greedy continuation (the
// fixtures' decode_ids are its argmax picks), and a decode step reads nothing back but what it must: one map of
// the token id per generated token (or of the logits for `decode`), one submit per step.
import { afterEach, describe, expect, it } from 'vitest';
import { DeepseekForward } from '../../engine/model/forward';
import { generateGreedy } from '../../engine/model/greedy';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { readGolden } from '../../engine/weights/golden';
import { join } from 'node:path';
import { FIXTURE_NAMES, fixturePath } from '../support/fixtures';
import { testDevice } from '../support/gpu';

interface Counters { submits: number; maps: number[] }

const restore: (() => void)[] = [];
afterEach(() => restore.splice(0).forEach((undo) => undo()));

function countGpuTraffic(device: GPUDevice): Counters {
  const counters: Counters = { submits: 0, maps: [] };
  const queue = device.queue;
  const submit = queue.submit.bind(queue);
  queue.submit = (buffers) => { counters.submits++; submit(buffers); };
  const probe = device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ });
  const proto = Object.getPrototypeOf(probe) as GPUBuffer;
  const mapAsync = proto.mapAsync;
  proto.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    const [, offset = 0, size] = args;
    counters.maps.push(size ?? this.size - offset); // bytes mapped, not the staging buffer's size
    return mapAsync.apply(this, args);
  };
  restore.push(() => { queue.submit = submit; proto.mapAsync = mapAsync; });
  return counters;
}

describe('greedy generation on the GPU', () => {
  for (const name of FIXTURE_NAMES) {
    it(`${name}: reproduces the reference's greedy tokens for every golden prompt`, async () => {
      const { device } = await testDevice();
      const dir = fixturePath(name);
      const golden = readGolden(join(dir, 'golden.safetensors'));
      const model = await DeepseekForward.create(device, await openCheckpoint(dir), { maxContext: 128, maxRows: 32 });
      for (const seq of golden.sequences) {
        model.reset();
        const ids = await generateGreedy(model, Array.from(seq.inputIds), { maxNewTokens: seq.decodeIds.length });
        expect(ids).toEqual(Array.from(seq.decodeIds));
        expect(model.position).toBe(seq.inputIds.length + seq.decodeIds.length - 1);
      }
    });
  }

  it('reads back only the token id per generated token, with one submit per step', async () => {
    const { device } = await testDevice();
    const dir = fixturePath('tiny-v32');
    const model = await DeepseekForward.create(device, await openCheckpoint(dir), { maxContext: 64, maxRows: 8 });
    const counters = countGpuTraffic(device);
    const prompt = Array.from({ length: 20 }, (_, i) => (i * 37 + 5) % model.config.vocabSize);
    const ids = await generateGreedy(model, prompt, { maxNewTokens: 10 });
    expect(ids).toHaveLength(10);
    expect(counters.submits).toBe(Math.ceil(prompt.length / 8) + 9);
    expect(counters.maps).toEqual(Array(10).fill(4));
  });

  it('decode() submits once and maps only the logits', async () => {
    const { device } = await testDevice();
    const model = await DeepseekForward.create(device, await openCheckpoint(fixturePath('tiny-v2')), { maxContext: 32 });
    await model.prefill([3, 4, 5]);
    const counters = countGpuTraffic(device);
    const logits = await model.decode(7);
    expect(logits).toHaveLength(model.config.vocabSize);
    expect(counters.submits).toBe(1);
    expect(counters.maps).toEqual([model.config.vocabSize * 4]);
  });

  it('stops at a stop id and drops the extra step from the cache', async () => {
    const { device } = await testDevice();
    const dir = fixturePath('tiny-v2');
    const seq = readGolden(join(dir, 'golden.safetensors')).sequences[1];
    const model = await DeepseekForward.create(device, await openCheckpoint(dir), { maxContext: 64 });
    const stopAt = seq.decodeIds[2];
    const ids = await generateGreedy(model, Array.from(seq.inputIds), { maxNewTokens: 6, stopIds: [stopAt] });
    const firstStop = Array.from(seq.decodeIds).indexOf(stopAt);
    expect(ids).toEqual(Array.from(seq.decodeIds.slice(0, firstStop + 1)));
    expect(model.position).toBe(seq.inputIds.length + firstStop);
  });
});
