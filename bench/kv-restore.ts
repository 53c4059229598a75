// Restoring a conversation's latent cache against prefilling it again (issue 6's "restore beats prefill" line, a
// piece of `npm run bench`; the measurement itself is kv-restore-measure.ts): on the bundled default model at 4,000 tokens (maxContext 4096), times the
// generation loop's prefill of the tokens up to the first sampled token, then the restore of a snapshot of the same
// rows — decode (f16 or int8) and upload, until the queue has finished — and prints both. Snapshot reading (one
// submit, one map, encode) is printed too; it happens after an answer, not on the path to the next one.
// Usage: node scripts/run-ts.mjs bench/kv-restore.ts [--package DIR | --checkpoint HF_DIR (f32) |
// --random-config CONFIG_JSON] [--tokens N] [--max-context N] [--json]
// --random-config writes a fixed-seed random f32 checkpoint of that Hugging Face config.json into a temp folder
// first (timings do not depend on the weights' values; used on the GPU machine, where a package is too big to carry).
// (DIR defaults to public/models/deepseek-v32-tiny-random; `npm run default-model` makes it.)
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createNodeDevice } from '../engine/gpu/node-gpu';
import { kvBytesPerToken } from '../engine/kv/kv-bytes';
import { DeepseekForward } from '../engine/model/forward';
import { openPackage } from '../engine/package/package-node';
import { openCheckpoint } from '../engine/weights/checkpoint-node';
import { writeRandomCheckpoint } from '../scripts/default-model/random-checkpoint';
import { kvRestoreLines, measureKvRestore } from './kv-restore-measure';

const { values } = parseArgs({
  options: {
    package: { type: 'string', default: 'public/models/deepseek-v32-tiny-random' },
    checkpoint: { type: 'string' },
    'random-config': { type: 'string' },
    tokens: { type: 'string', default: '4000' },
    'max-context': { type: 'string', default: '4096' },
    json: { type: 'boolean', default: false },
  },
});

const started = performance.now();
function progress(message: string): void {
  console.error(`kv-restore: ${((performance.now() - started) / 1000).toFixed(1)} s: ${message}`);
}

async function main(): Promise<void> {
  const { device, adapterInfo } = await createNodeDevice();
  if (values['random-config']) {
    const dir = await mkdtemp(join(tmpdir(), 'kv-restore-'));
    await writeRandomCheckpoint(dir, JSON.parse(await readFile(values['random-config'], 'utf8')), 0x6b76);
    values.checkpoint = dir;
    progress(`random checkpoint of ${values['random-config']} written to ${dir}`);
  }
  const { name, plan, source } = values.checkpoint
    ? { name: values.checkpoint, plan: 'f32' as const, source: await openCheckpoint(values.checkpoint) }
    : await openPackage(values.package!).then(({ manifest, source }) => ({ name: manifest.name, plan: manifest.quantisation.plan, source }));
  const maxContext = Math.min(Number(values['max-context']), source.config.maxPositionEmbeddings);
  const model = await DeepseekForward.create(device, source, { weights: plan, maxContext });
  progress(`model loaded (maxContext ${maxContext})`);
  const measured = await measureKvRestore(model, Number(values.tokens), progress);
  const { tokens: position, prefillMs, prefillTokens, restore: results } = measured;

  const report = {
    adapter: adapterInfo, model: name, tokens: position, prefillMs, prefillTokens,
    bytesPerToken: kvBytesPerToken(source.config), restore: results,
  };
  if (values.json) {
    console.log(JSON.stringify(report));
    return;
  }
  console.log(`adapter: ${adapterInfo}\nmodel: ${name}, ${position} cached tokens`);
  console.log(`prefill ${position} tokens (to the first sampled token): ${prefillMs.toFixed(0)} ms`);
  for (const line of kvRestoreLines(measured)) console.log(line);
}

await main();
