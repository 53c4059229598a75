// Prefill speed of the generation loop (issues 4 and 7): on the bundled default model, times generate() from the
// call to the first sampled token for prompts of 16 and 64 tokens, once per prefill chunk size (--rows: the model's
// maxRows; 1 = one row per step, as CPU adapters used to run), and prints time to first token and prefill tokens/s
// (median of --runs after one warm-up). Runs on whatever adapter Dawn finds (SwiftShader on a machine without a GPU).
// Usage: node scripts/run-ts.mjs bench/prefill-cpu.ts [--package DIR] [--rows 1,16,64] [--prompts 16,64] [--runs 3]
// [--json]   (DIR defaults to public/models/deepseek-v32-tiny-random; `npm run default-model` makes it.)
import { parseArgs } from 'node:util';
import { generate } from '../engine/generate/generator';
import { createNodeDevice } from '../engine/gpu/node-gpu';
import { GREEDY } from '../engine/kernels/sample';
import { DeepseekForward } from '../engine/model/forward';
import { openPackage } from '../engine/package/package-node';

const { values } = parseArgs({
  options: {
    package: { type: 'string', default: 'public/models/deepseek-v32-tiny-random' },
    rows: { type: 'string', default: '1,16,64' },
    prompts: { type: 'string', default: '16,64' },
    runs: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});

const list = (text: string) => text.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

interface Figure { rows: number; promptTokens: number; timeToFirstTokenMs: number; prefillTokensPerS: number }

async function main(): Promise<void> {
  const { device, adapterInfo, cpu } = await createNodeDevice();
  const { manifest, source } = await openPackage(values.package!);
  const prompts = list(values.prompts!);
  const runs = Math.max(1, Number(values.runs));
  const vocab = source.config.vocabSize;
  const figures: Figure[] = [];
  for (const rows of list(values.rows!)) {
    const model = await DeepseekForward.create(device, source, { weights: manifest.quantisation.plan, maxRows: rows, maxContext: 512 });
    for (const length of prompts) {
      const ids = Array.from({ length }, (_, i) => (i * 7919 + 13) % vocab);
      const times: number[] = [];
      for (let run = 0; run <= runs; run++) {
        model.reset();
        const result = await generate(model, ids, GREEDY, { maxNewTokens: 1 });
        if (run > 0) times.push(result.stats.timeToFirstTokenMs); // run 0 compiles the pipelines
      }
      const ttft = median(times);
      figures.push({ rows, promptTokens: length, timeToFirstTokenMs: ttft, prefillTokensPerS: (length / ttft) * 1000 });
      if (!values.json) {
        console.log(`rows ${rows}, prompt ${length}: time to first token ${ttft.toFixed(0)} ms, ` +
          `${((length / ttft) * 1000).toFixed(1)} prefill tokens/s (runs: ${times.map((t) => t.toFixed(0)).join(', ')} ms)`);
      }
    }
  }
  if (values.json) console.log(JSON.stringify({ adapter: adapterInfo, cpu, model: manifest.name, figures }));
  else console.log(`adapter: ${adapterInfo} (${cpu ? 'CPU' : 'GPU'}), model ${manifest.name}`);
  device.destroy();
}

await main();
