// `npm run app-samples` (= `node scripts/run-ts.mjs scripts/trained-model/app-samples.ts [options]`): the model
// card's ten sample exchanges taken from the app itself, as a user would get them. It builds the app the way the
// end-to-end tests do (tests/e2e/support/app-build.ts: `vite build` into .cache/e2e-app/, reused while sources are
// unchanged), serves it on 127.0.0.1 and opens it in headless Chromium with SwiftShader WebGPU
// (tests/e2e/support/browser-session.ts), waits for the bundled default model (public/models/<TRAINED_MODEL_DIR>)
// to be ready, sets greedy decoding in the settings panel (temperature 0 = greedy, top-p 1, top-k 0 = off,
// repetition penalty 1 = off, no system prompt, max new tokens 64 as in engine-samples.ts; attention stays the app's
// default), and for each prompt of sample-prompts.ts, in order, starts a new conversation, sends the prompt, waits
// for the answer to finish and records the assistant's text as the page shows it (the rendered Markdown's
// innerText). Writes {model, settings, samples: [{prompt, answer, note?}]} (note: the app's remark under a cut-short
// answer, e.g. "Reached the max new tokens setting.") to train/references/app_samples.json, prints the ten as the
// card's Markdown blockquotes, and says for each whether it equals the engine-samples.ts answer for the same prompt
// in train/references/engine_samples.json (when that file has one).
// Options: --out FILE, --engine FILE (engine samples to compare with), --max-new-tokens N, --timeout-s S (the limit
// for each wait: model load, one answer; SwiftShader takes about a second per token on two cores).
//
// This file only launches: scripts/run-ts.mjs bundles everything it imports, and playwright-core cannot be bundled
// (it requires Node built-ins dynamically), so the work is in app-samples-browser.ts, bundled here with
// playwright-core left external and each source file's `import.meta.url` kept pointing at the file itself (the
// e2e support finds the repository root from it).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
const entry = resolve('scripts/trained-model/app-samples-browser.ts');
const outfile = resolve('.cache/app-samples-browser.mjs');
const nodeModules = `${sep}node_modules${sep}`;

await esbuild.build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  external: ['playwright-core', 'esbuild', 'webgpu'],
  loader: { '.wgsl': 'text' },
  logLevel: 'warning',
  plugins: [{
    name: 'own-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.tsx?$/ }, async (args) => {
        if (args.path.includes(nodeModules)) return undefined;
        const source = await readFile(args.path, 'utf8');
        const url = JSON.stringify(pathToFileURL(args.path).href);
        return { contents: source.replace(/\bimport\.meta\.url\b/g, url), loader: args.path.endsWith('x') ? 'tsx' : 'ts' };
      });
    },
  }],
});
await import(pathToFileURL(outfile).href);
