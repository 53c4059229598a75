// `node scripts/run-ts.mjs scripts/trained-model/engine-samples.ts [--out FILE] [--max-new-tokens N] [--prompts FILE]`:
// the model card's sample prompts (or those in --prompts: a JSON list of {user}, or {samples: [{user}]} such as
// train/references/random_check.json, the card's random check)
// answered by the engine itself (WebGPU in Node, SwiftShader without a GPU) from the bundled
// trained package, beside the app's answers (app-samples.ts): each prompt goes through the package's chat template,
// greedy decoding stops at the end-of-turn token (at most N tokens, default 160, as the card's app samples).
// Prints (and with --out writes) a JSON list of {user, answer}.
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

const { values } = parseArgs({ options: {
  out: { type: 'string' }, models: { type: 'string', default: 'public/models' }, 'max-new-tokens': { type: 'string', default: '160' },
  prompts: { type: 'string' },
} });
type PromptList = { user: string }[];
const promptFile = values.prompts ? JSON.parse(await readFile(values.prompts, 'utf8')) as PromptList | { samples: PromptList } : null;
const prompts: readonly string[] = promptFile
  ? (Array.isArray(promptFile) ? promptFile : promptFile.samples).map((p) => p.user)
  : SAMPLE_PROMPTS;
const maxNewTokens = Number(values['max-new-tokens']);
if (!(Number.isInteger(maxNewTokens) && maxNewTokens > 0)) throw new Error(`--max-new-tokens must be a positive integer, got ${values['max-new-tokens']}`);
const dir = join(values.models!, TRAINED_MODEL_DIR);
const read = async (file: string) => JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, unknown>;
const tokenizer = new ChatTokenizer({ tokenizerJson: await read('tokenizer.json'), tokenizerConfig: await read('tokenizer_config.json') });
const { device } = await createNodeDevice();
const model = await DeepseekForward.create(device, (await openPackage(dir)).source, { maxContext: 64 + maxNewTokens });
const samples: { user: string; answer: string }[] = [];
for (const user of prompts) {
  model.reset();
  const ids = await generateGreedy(model, tokenizer.encodeChat([{ role: 'user', content: user }]), { maxNewTokens, stopIds: tokenizer.stopTokenIds });
  samples.push({ user, answer: tokenizer.decode(ids, { skipSpecialTokens: true }) });
  console.error(`${user} -> ${samples[samples.length - 1].answer}`);
}
console.log(JSON.stringify(samples, null, 1));
if (values.out) await writeFile(values.out, `${JSON.stringify(samples, null, 1)}\n`);
process.exit(0);
