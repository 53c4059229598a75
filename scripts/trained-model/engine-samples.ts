// `node scripts/run-ts.mjs scripts/trained-model/engine-samples.ts [--out FILE]`: the model card's sample exchanges,
// written by the engine itself (WebGPU in Node, SwiftShader without a GPU) from the bundled trained package: each
// prompt goes through the package's chat template, greedy decoding stops at the end-of-turn token (at most 64
// tokens). Prints (and with --out writes) a JSON list of {user, answer}.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { createNodeDevice } from '../../engine/gpu/node-gpu';
import { DeepseekForward } from '../../engine/model/forward';
import { generateGreedy } from '../../engine/model/greedy';
import { openPackage } from '../../engine/package/package-node';
import { ChatTokenizer } from '../../engine/tokenizer/chat-tokenizer';
import { TRAINED_MODEL_DIR } from '../default-model/default-model-config';
import { SAMPLE_PROMPTS } from './sample-prompts';

const { values } = parseArgs({ options: { out: { type: 'string' }, models: { type: 'string', default: 'public/models' } } });
const dir = join(values.models!, TRAINED_MODEL_DIR);
const read = async (file: string) => JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, unknown>;
const tokenizer = new ChatTokenizer({ tokenizerJson: await read('tokenizer.json'), tokenizerConfig: await read('tokenizer_config.json') });
const { device } = await createNodeDevice();
const model = await DeepseekForward.create(device, (await openPackage(dir)).source, { maxContext: 128 });
const samples: { user: string; answer: string }[] = [];
for (const user of SAMPLE_PROMPTS) {
  model.reset();
  const ids = await generateGreedy(model, tokenizer.encodeChat([{ role: 'user', content: user }]), { maxNewTokens: 64, stopIds: tokenizer.stopTokenIds });
  samples.push({ user, answer: tokenizer.decode(ids, { skipSpecialTokens: true }) });
  console.error(`${user} -> ${samples[samples.length - 1].answer}`);
}
console.log(JSON.stringify(samples, null, 1));
if (values.out) await writeFile(values.out, `${JSON.stringify(samples, null, 1)}\n`);
process.exit(0);
