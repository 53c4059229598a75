// Runs a TypeScript entry point under Node: bundles it with esbuild (WGSL files as text) into .cache/ and imports
// it, passing the remaining arguments through. Packages that load files or Node built-ins at run time stay
// external; each project source keeps `import.meta.url` pointing at its own file (not at the bundle in .cache/), so
// code that finds the repository or node_modules from it works the same bundled or not (tests/e2e/support).
// Usage: node scripts/run-ts.mjs engine/cli/verify.ts [args...]
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, resolve, sep } from 'node:path';
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
  // transformers.js loads native helpers with require(); playwright-core requires Node built-ins dynamically.
  external: ['webgpu', '@huggingface/transformers', 'playwright-core', 'esbuild'],
  loader: { '.wgsl': 'text' },
  logLevel: 'warning',
  plugins: [{
    name: 'own-import-meta-url',
    setup(builder) {
      const nodeModules = `${sep}node_modules${sep}`;
      builder.onLoad({ filter: /\.tsx?$/ }, async (args) => {
        if (args.path.includes(nodeModules)) return undefined;
        const source = await readFile(args.path, 'utf8');
        const url = JSON.stringify(pathToFileURL(args.path).href);
        return { contents: source.replace(/\bimport\.meta\.url\b/g, url), loader: args.path.endsWith('x') ? 'tsx' : 'ts' };
      });
    },
  }],
});
process.argv = [process.argv[0], outfile, ...rest];
await import(pathToFileURL(outfile).href);
