// Runs a TypeScript entry point under Node: bundles it with esbuild (WGSL files as text, `webgpu` left
// external) into .cache/ and imports it, passing the remaining arguments through.
// Usage: node scripts/run-ts.mjs engine/cli/verify.ts [args...]
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs ENTRY.ts [args...]');
  process.exit(2);
}
const outdir = resolve('.cache');
mkdirSync(outdir, { recursive: true });
const outfile = resolve(outdir, basename(entry).replace(/\.ts$/, '.mjs'));
await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  external: ['webgpu', '@huggingface/transformers'], // transformers.js loads native helpers with require()
  loader: { '.wgsl': 'text' },
  logLevel: 'warning',
});
process.argv = [process.argv[0], outfile, ...rest];
await import(pathToFileURL(outfile).href);
