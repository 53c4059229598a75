// Builds the app for the end-to-end tests, once per source state: `vite build` into .cache/e2e-app/<hash>/
// (ignored by git), with the bundled default model in public/models generated first when it is missing (the same
// step `npm run build` runs as prebuild). The hash covers everything that goes into the bundle (app/, engine/,
// shaders/, index.html, the configs, the lock file and the model's index and manifests), so every test file of a
// run, and later runs on unchanged sources, reuse one build; a changed source gets a new build.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');
const buildsDir = join(repoRoot, '.cache', 'e2e-app');
const BUNDLE_INPUTS = [
  'app', 'engine', 'shaders', 'public', 'index.html', 'vite.config.ts', 'tsconfig.json', 'package-lock.json',
  'tests/e2e/support/app-build.ts', // how it builds
];
// Shards are large and named by their manifest (which records their hashes), so only JSON is read under public/.
const PUBLIC_HASHED = /\.(json|html|svg|png|ico|webmanifest|txt)$/;

async function run(command: string, args: string[], what: string): Promise<void> {
  // Vitest sets NODE_ENV=test, which would make vite build React's development bundle: build what users get.
  const env = { ...process.env, NODE_ENV: 'production' };
  const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) throw new Error(`${what} failed (exit ${code}); its output:\n${output}`);
}

async function listFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => null);
  if (!info) return [];
  if (info.isFile()) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

async function hashBundleInputs(): Promise<string> {
  const hash = createHash('sha256');
  for (const input of BUNDLE_INPUTS) {
    const files = (await listFiles(join(repoRoot, input))).sort();
    for (const file of files) {
      if (input === 'public' && !PUBLIC_HASHED.test(file)) continue;
      hash.update(file.slice(repoRoot.length)).update('\0').update(await readFile(file)).update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** Returns the folder holding the built app (index.html at its top), building it first when needed. */
export async function builtApp(): Promise<string> {
  if (!existsSync(join(repoRoot, 'public', 'models', 'index.json'))) {
    await run(process.execPath, ['scripts/run-ts.mjs', 'scripts/default-model/generate.ts'], 'generating the bundled default model');
  }
  const outDir = join(buildsDir, await hashBundleInputs());
  if (existsSync(join(outDir, 'index.html'))) return outDir;
  await rm(buildsDir, { recursive: true, force: true });
  const vite = join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  await run(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], 'vite build');
  if (!existsSync(join(outDir, 'models', 'index.json'))) throw new Error(`vite build wrote no models/index.json into ${outDir}`);
  return outDir;
}
