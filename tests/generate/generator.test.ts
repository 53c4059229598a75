// The generation loop on tiny-v32 (f32): greedy settings reproduce engine/model/greedy.ts; one submit and a 4-byte
// map per decode token; stop ids and aborts stop within one token and leave every returned id but the last in the
// cache; a seed fixes the ids; and over two turns (the second prefilling only its new tokens) the sampled ids equal
// the CPU reference sampler fed with the model's own logits, run step by step. prefillLast (the last-row head that
// generation uses) gives prefill's last row and the same cache.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generate, generationSampler } from '../../engine/generate/generator';
import { GREEDY, type SamplingSettings } from '../../engine/kernels/sample';
import { DeepseekForward } from '../../engine/model/forward';
import { generateGreedy } from '../../engine/model/greedy';
import { sampleToken } from '../../engine/reference/sample';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { fixturePath } from '../support/fixtures';
import { testDevice } from '../support/gpu';

const SAMPLED: SamplingSettings = { temperature: 1.2, topK: 40, topP: 0.9, repetitionPenalty: 1.3, seed: 2024 };
const restore: (() => void)[] = [];
afterEach(() => restore.splice(0).forEach((undo) => undo()));

let model: DeepseekForward;
beforeAll(async () => {
  const { device } = await testDevice();
  model = await DeepseekForward.create(device, await openCheckpoint(fixturePath('tiny-v32')), { maxContext: 96, maxRows: 8 });
});

function prompt(length: number, salt: number): number[] {
  return Array.from({ length }, (_, i) => (i * 37 + salt) % model.config.vocabSize);
}

function countGpuTraffic(device: GPUDevice): { submits: number; maps: number[] } {
  const counters = { submits: 0, maps: [] as number[] };
  const queue = device.queue;
  const submit = queue.submit.bind(queue);
  queue.submit = (buffers) => { counters.submits++; submit(buffers); };
  const proto = Object.getPrototypeOf(device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ })) as GPUBuffer;
  const mapAsync = proto.mapAsync;
  proto.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    counters.maps.push(args[2] ?? this.size - (args[1] ?? 0));
    return mapAsync.apply(this, args);
  };
  restore.push(() => { queue.submit = submit; proto.mapAsync = mapAsync; });
  return counters;
}

describe('generate', () => {
  it('greedy settings give greedy.ts ids, with one submit and one 4-byte map per decode token', async () => {
    const ids = prompt(12, 5);
    model.reset();
    const want = await generateGreedy(model, ids, { maxNewTokens: 5, attention: 'dense' });
    model.reset();
    const counters = countGpuTraffic(model.ctx.device);
    const got = await generate(model, ids, GREEDY, { maxNewTokens: 5, attention: 'dense' });
    expect(got.ids).toEqual(want);
    expect(got.stopReason).toBe('length');
    expect(counters.submits).toBe(Math.ceil(ids.length / 8) + 4);
    expect(counters.maps).toEqual(Array(5).fill(4));
    const { stats } = got;
    expect(stats.submitsPerDecodeToken).toBe(1);
    expect(stats.dispatchesPerDecodeToken).toBe(model.dispatchesPerStep('dense', generationSampler(model).sample));
    expect([stats.promptTokens, stats.decodeTokens, stats.contextTokens]).toEqual([12, 4, 16]);
    expect(stats.decodeSeries.map((p) => p.contextTokens)).toEqual([13, 14, 15, 16]);
    expect(stats.timeToFirstTokenMs).toBeGreaterThanOrEqual(stats.prefillMs);
    console.log(`tiny-v32 dense decode: ${stats.dispatchesPerDecodeToken} dispatches/token, ${(stats.decodeMs / stats.decodeTokens).toFixed(1)} ms/token (SwiftShader)`);
  });

  for (const pipelineDepth of [1, 2] as const) {
    it(`stops at a stop id and on abort within one token, keeping all ids but the last in the cache (${pipelineDepth} step${pipelineDepth > 1 ? 's' : ''} in flight)`, async () => {
      const ids = prompt(6, 3);
      model.reset();
      const free = (await generate(model, ids, SAMPLED, { maxNewTokens: 5 })).ids;
      const stopAt = free.findIndex((id, i) => i >= 2 && free.indexOf(id) === i);
      model.reset();
      expect(stopAt, 'a first occurrence at index >= 2 to stop at').toBeGreaterThanOrEqual(2);
      const stopped = await generate(model, ids, SAMPLED, { maxNewTokens: 5, stopTokenIds: [free[stopAt]], pipelineDepth });
      expect(stopped.ids).toEqual(free.slice(0, stopAt + 1));
      expect(stopped.stopReason).toBe('stop');
      expect(model.position).toBe(ids.length + stopAt);

      model.reset();
      const controller = new AbortController();
      const seen: number[] = [];
      const aborted = await generate(model, ids, SAMPLED, {
        maxNewTokens: 5, pipelineDepth, signal: controller.signal, onToken: (id) => { seen.push(id); if (seen.length === 3) controller.abort(); },
      });
      expect(aborted.stopReason).toBe('abort');
      expect(aborted.ids).toEqual(free.slice(0, 3));
      expect(seen).toEqual(aborted.ids);
      expect(model.position).toBe(ids.length + 2);
    });
  }

  it('a full cache ends the answer with stopReason context: every id but the last in the cache, whatever the depth', async () => {
    const ids = prompt(90, 5); // maxContext 96: room for 6 more rows after the prompt
    const runs = [];
    for (const pipelineDepth of [1, 2] as const) {
      model.reset();
      runs.push({ result: await generate(model, ids, SAMPLED, { maxNewTokens: 20, pipelineDepth }), position: model.position });
    }
    for (const { result, position } of runs) {
      expect(result.stopReason).toBe('context');
      expect(result.ids).toHaveLength(96 - 90 + 1);
      expect(position).toBe(96);
    }
    expect(runs[1].result.ids).toEqual(runs[0].result.ids);
  });

  it('same seed, same ids; sampled ids equal the CPU reference on the model\'s logits over two turns', async () => {
    const turns = [prompt(9, 7), prompt(3, 11)];
    const N = 3;
    model.reset();
    const first = await generate(model, turns[0], SAMPLED, { maxNewTokens: N });
    const second = await generate(model, [first.ids[N - 1], ...turns[1]], SAMPLED, { maxNewTokens: N });
    expect(second.stats.promptTokens).toBe(1 + turns[1].length);
    const a = [first.ids, second.ids];
    model.reset();
    expect((await generate(model, turns[0], SAMPLED, { maxNewTokens: N })).ids, 'same seed, same ids').toEqual(first.ids);

    // Step by step: logits read back, the reference sampler picks with the kernel's counter (the cache length).
    model.reset();
    const fed: number[] = [];
    const want: number[][] = [];
    let turnPrompt = turns[0];
    for (let turn = 0; turn < 2; turn++) {
      const logits = await model.prefill(turnPrompt);
      fed.push(...turnPrompt);
      let row = logits.subarray(logits.length - model.config.vocabSize);
      const picks: number[] = [];
      for (;;) {
        picks.push(sampleToken(row, fed, SAMPLED, model.position));
        if (picks.length === N) break;
        fed.push(picks[picks.length - 1]);
        row = await model.decode(picks[picks.length - 1]);
      }
      want.push(picks);
      turnPrompt = [picks[N - 1], ...turns[1]];
    }
    expect(a).toEqual(want);
  });

  it('prefillLast returns the last row of prefill\'s [T, V] over several chunks and leaves the same cache', async () => {
    const ids = prompt(19, 2); // chunks of 8, 8, 3: two chunks without logits, then the last row only
    const vocab = model.config.vocabSize;
    model.reset();
    const all = await model.prefill(ids, { attention: 'dense' });
    const next = await model.decode(5, { attention: 'dense' });
    model.reset();
    const last = await model.prefillLast(ids, { attention: 'dense' });
    expect(last.length).toBe(vocab);
    expect(model.position).toBe(ids.length);
    const want = all.subarray((ids.length - 1) * vocab);
    let worst = 0, scale = 0;
    for (let i = 0; i < vocab; i++) {
      worst = Math.max(worst, Math.abs(last[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    }
    expect(worst, 'matrix-vector vs tiled lm_head: f32 summation order only').toBeLessThan(1e-5 * scale + 1e-6);
    const again = await model.decode(5, { attention: 'dense' });
    let cacheWorst = 0;
    for (let i = 0; i < vocab; i++) cacheWorst = Math.max(cacheWorst, Math.abs(again[i] - next[i]));
    expect(cacheWorst, 'the decode after it reads the same cache').toBeLessThan(1e-5 * scale + 1e-6);
    await expect(model.prefillLast([])).rejects.toThrow(/at least one token/);
  });

  it('rejects a prompt that does not fit and an empty prompt', async () => {
    model.reset();
    await expect(generate(model, prompt(97, 1), GREEDY, { maxNewTokens: 1 })).rejects.toMatchObject({ code: 'CONTEXT_FULL' });
    await expect(generate(model, [], GREEDY, { maxNewTokens: 1 })).rejects.toThrow(/at least one prompt token/);
    expect(model.position).toBe(0);
  });
});
