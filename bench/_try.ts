import { createNodeDevice } from '../engine/gpu/node-gpu';
import { parseModelConfig } from '../engine/config';
import { DeepseekForward } from '../engine/model/forward';
import { weightPlan } from '../engine/weights/weight-plan';
import { SYNTHETIC_CONFIGS } from './synthetic-configs';
import { syntheticWeights } from './synthetic-weights';
import { decodeRun, fillCaches, warmUp } from './decode-runs';
import { kernelFigures } from './kernel-shapes';
import { readF32 } from '../engine/gpu/buffers';
const gpu = await createNodeDevice();
console.log('maxStorageBufferBindingSize', gpu.device.limits.maxStorageBufferBindingSize, 'maxBufferSize', gpu.device.limits.maxBufferSize);
for (const name of ['v2-lite-r16', 'v32-lite-r16']) {
  for (const w of (process.env.W ?? 'q4').split(',') as ('q4' | 'q8' | 'f16')[]) {
    const raw = { ...SYNTHETIC_CONFIGS[name], num_hidden_layers: 2, vocab_size: 4096, index_topk: 64 };
    const config = parseModelConfig(raw);
    const t0 = performance.now();
    console.log(name, w, 'filling'); const weights = await syntheticWeights(gpu.device, config, weightPlan(w));
    const model = DeepseekForward.fromWeights(gpu.device, config, weights, { maxContext: 128 });
    console.log('weights', ((performance.now() - t0) / 1000).toFixed(1)); await fillCaches(model); console.log('caches');
    console.log('warm'); await warmUp(model, config.indexer ? ['sparse', 'dense'] : ['dense']);
    for (const mode of config.indexer ? ['sparse', 'dense'] as const : ['dense'] as const) {
      const run = await decodeRun(model, 100, mode, 2, 1);
      const logits = await readF32(gpu.device, model.scratch.logits, config.vocabSize);
      let max = 0; for (const v of logits) max = Math.max(max, Math.abs(v));
      console.log(name, w, mode, 'MiB', (weights.bytes / 2 ** 20).toFixed(0), 'decode ms', run.decodeMsPerToken.toFixed(0), 'dispatches', run.dispatchesPerToken, 'finite', logits.every(Number.isFinite), 'max|logit|', max.toFixed(2), ((performance.now() - t0) / 1000).toFixed(1), 's');
    }
    if (w === 'q4') console.log((await kernelFigures(model, 1, 1)).map((k) => `${k.name} ${k.shape}`).join('; '));
  }
}
process.exit(0);
