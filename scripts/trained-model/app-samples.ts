// `npm run app-samples` (= `node scripts/run-ts.mjs scripts/trained-model/app-samples.ts [options]`): the model
// card's ten sample exchanges taken from the app itself, as a user would get them. It builds the app the way the
// end-to-end tests do (tests/e2e/support/app-build.ts: `vite build` into .cache/e2e-app/, reused while sources are
// unchanged), serves it on 127.0.0.1 and opens it in headless Chromium with SwiftShader WebGPU
// (tests/e2e/support/browser-session.ts), waits for the bundled default model (public/models/<TRAINED_MODEL_DIR>)
// to be ready, sets greedy decoding in the settings panel (temperature 0 = greedy, top-p 1, top-k 0 = off,
// repetition penalty 1 = off, no system prompt, max new tokens from --max-new-tokens; attention stays the app's
// default), and for each prompt of sample-prompts.ts, in order, starts a new conversation, sends the prompt, waits
// for the answer to finish and records the assistant's text as the page shows it (the rendered Markdown's
// innerText). Writes {model, settings, samples: [{prompt, answer, note?}]} (note: the app's remark under a cut-short
// answer, e.g. "Reached the max new tokens setting.") to train/references/app_samples.json, prints the ten as the
// card's Markdown blockquotes, and says for each whether it equals the engine-samples.ts answer for the same prompt
// in train/references/engine_samples.json (when that file has one).
// Options: --out FILE, --engine FILE (engine samples to compare with), --max-new-tokens N (default 64; the card's
// samples use 160, as engine-samples.ts does by default), --timeout-s S (the limit for each wait: model load, one
// answer).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { builtApp } from '../../tests/e2e/support/app-build';
import { formatSessionLog, openAppSession, type AppSession } from '../../tests/e2e/support/browser-session';
import {
  assistantTexts, byTestId, sendMessage, setNumberSetting, userTexts, waitForAnswerDone, waitForModelReady,
} from '../../tests/e2e/support/chat-page';
import { TRAINED_MODEL_DIR } from '../default-model/default-model-config';
import { SAMPLE_PROMPTS } from './sample-prompts';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'train/references/app_samples.json' },
    engine: { type: 'string', default: 'train/references/engine_samples.json' },
    'max-new-tokens': { type: 'string', default: '64' },
    'timeout-s': { type: 'string', default: '900' },
  },
});
const maxNewTokens = Number(values['max-new-tokens']);
const timeoutMs = Number(values['timeout-s']) * 1000;
if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new Error(`--max-new-tokens must be a positive integer`);
if (!(timeoutMs > 0)) throw new Error(`--timeout-s must be a positive number`);

/** Greedy decoding as the app's settings panel offers it; the order is the order they are typed in. */
const GREEDY_SETTINGS = { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, maxNewTokens } as const;

interface Sample { prompt: string; answer: string; note?: string }

const started = performance.now();
const seconds = (from: number) => ((performance.now() - from) / 1000).toFixed(1);
const say = (line: string) => console.error(`app-samples: ${line}`);

// public/models/index.json lists the bundled models (the trained one first, as the default); regenerating it (the
// step `npm run build` runs first; cheap when the random model is current) keeps it true to a replaced model file.
const generated = spawnSync(process.execPath, ['scripts/run-ts.mjs', 'scripts/default-model/generate.ts'], { stdio: 'inherit' });
if (generated.status !== 0) throw new Error(`scripts/default-model/generate.ts failed (exit ${generated.status})`);
const modelDir = join('public', 'models', TRAINED_MODEL_DIR);
const manifestBytes = await readFile(join(modelDir, 'manifest.json'));
const manifest = JSON.parse(manifestBytes.toString('utf8')) as { name: string };
const index = JSON.parse(await readFile(join('public', 'models', 'index.json'), 'utf8')) as { path: string; default?: boolean }[];
if (index[0]?.path !== TRAINED_MODEL_DIR || !index[0].default) throw new Error(`index.json's default model is not ${TRAINED_MODEL_DIR}`);

let step = performance.now();
const appDir = await builtApp();
say(`app built (or reused) in ${seconds(step)} s: ${appDir}`);

step = performance.now();
const session: AppSession = await openAppSession(appDir);
const samples: Sample[] = [];
let attention = '';
try {
  const { page } = session;
  const status = await waitForModelReady(page, timeoutMs);
  if (!status.includes(manifest.name)) throw new Error(`the app loaded another model: "${status}", not "${manifest.name}"`);
  say(`model ready in ${seconds(step)} s: ${status}`);
  await byTestId(page, 'setting-system-prompt').fill('');
  for (const [name, value] of Object.entries(GREEDY_SETTINGS)) await setNumberSetting(page, name, value);
  attention = (await byTestId(page, 'attention-toggle').getAttribute('data-mode').catch(() => null)) ?? 'dense (no DSA indexer)';

  for (const prompt of SAMPLE_PROMPTS) {
    step = performance.now();
    await byTestId(page, 'new-conversation').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid^="message-"]').length === 0, undefined, { timeout: timeoutMs });
    await sendMessage(page, prompt, timeoutMs);
    await waitForAnswerDone(page, timeoutMs);
    const answers = await assistantTexts(page);
    const users = await userTexts(page);
    if (answers.length !== 1 || users.length !== 1 || users[0] !== prompt) {
      throw new Error(`expected one exchange for "${prompt}", the page shows ${users.length} user and ${answers.length} assistant messages`);
    }
    const noteText = await byTestId(page, 'message-assistant').locator('.message-note').allInnerTexts();
    const sample: Sample = { prompt, answer: answers[0]! };
    if (noteText.length) sample.note = noteText.join(' ');
    samples.push(sample);
    say(`${samples.length}/${SAMPLE_PROMPTS.length} in ${seconds(step)} s: ${prompt} -> ${sample.answer}${sample.note ? ` [${sample.note}]` : ''}`);
  }
} catch (error) {
  console.error(formatSessionLog(session));
  throw error;
} finally {
  await session.close();
}

const report = {
  model: {
    dir: modelDir,
    name: manifest.name,
    manifestSha256: createHash('sha256').update(manifestBytes).digest('hex'),
  },
  settings: {
    ...GREEDY_SETTINGS,
    systemPrompt: '',
    attention,
    browser: 'headless Chromium, WebGPU on SwiftShader (tests/e2e/support/browser-session.ts)',
    conversation: 'a new conversation per prompt',
  },
  samples,
};
await mkdir(dirname(values.out!), { recursive: true });
await writeFile(values.out!, `${JSON.stringify(report, null, 1)}\n`);

const quote = (text: string) => text.split('\n').join('  \n> ');
console.log(samples.map((s) => `> **User:** ${quote(s.prompt)}  \n> **Assistant:** ${quote(s.answer)}`).join('\n\n'));
console.log();

if (existsSync(values.engine!)) {
  const engine = JSON.parse(await readFile(values.engine!, 'utf8')) as { user?: string; prompt?: string; answer: string }[];
  const byPrompt = new Map(engine.map((e) => [e.user ?? e.prompt, e.answer]));
  let equal = 0;
  let compared = 0;
  for (const [i, s] of samples.entries()) {
    const other = byPrompt.get(s.prompt);
    if (other === undefined) {
      console.log(`${i + 1}. ${s.prompt}: no engine sample in ${values.engine}`);
      continue;
    }
    compared++;
    if (other === s.answer) equal++;
    console.log(`${i + 1}. ${s.prompt}: ${other === s.answer ? 'equal' : `different (engine: ${JSON.stringify(other)})`}`);
  }
  console.log(`app vs engine (${values.engine}): ${equal} of ${compared} compared equal`);
} else {
  console.log(`(no ${values.engine} to compare with)`);
}
say(`wrote ${values.out} in ${seconds(started)} s`);
process.exit(0);
