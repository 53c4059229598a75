// Builds the bundled random-weight model into a models folder (public/models/ for the app): writes the random-weight
// checkpoint and the DeepSeek-V3 tokenizer files into a temp folder, converts them with the project's converter
// into `<models>/<DEFAULT_MODEL_DIR>/`, and writes `<models>/index.json`, the list of bundled models the app offers:
// the trained model committed under `<models>/<TRAINED_MODEL_DIR>/` first, as the default, when it is there, then
// the random one. Idempotent: a package whose manifest records this generator version is kept (unless `force`).
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../engine/convert/convert-checkpoint';
import { MANIFEST_FILE, type PackageManifest } from '../../engine/package/manifest';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { weightPlan } from '../../engine/weights/weight-plan';
import { deepseekV3TokenizerPath } from './deepseek-v3-tokenizer';
import {
  DEFAULT_MODEL_DIR, DEFAULT_MODEL_LABEL, DEFAULT_MODEL_NAME, DEFAULT_MODEL_SEED, DEFAULT_MODEL_SOURCE,
  DEFAULT_MODEL_WEIGHTS, GENERATOR_VERSION, TRAINED_MODEL_DIR, TRAINED_MODEL_LABEL, defaultModelConfig, tokenizerVocabSize,
} from './default-model-config';
import { writeRandomCheckpoint } from './random-checkpoint';

export const MODELS_INDEX_FILE = 'index.json';

/** One entry of index.json; `path` is relative to the folder index.json is in. The first entry is the default. */
export interface BundledModel {
  name: string;
  path: string;
  label: string;
  family: string;
  quantisation: string;
  bytes: number;
  /** The generator version of a generated package; absent for the committed trained model. */
  generatorVersion?: number;
  /** True on the one entry the app opens by default (always the first). */
  default?: boolean;
}

/** Writes the random-weight checkpoint plus tokenizer files into `dir` (which must exist). */
export async function writeDefaultCheckpoint(dir: string): Promise<void> {
  const tokenizerJson = JSON.parse(await readFile(deepseekV3TokenizerPath('tokenizer.json'), 'utf8'));
  await writeRandomCheckpoint(dir, defaultModelConfig(tokenizerVocabSize(tokenizerJson)), DEFAULT_MODEL_SEED);
  for (const file of ['tokenizer.json', 'tokenizer_config.json'] as const) await copyFile(deepseekV3TokenizerPath(file), join(dir, file));
}

async function readManifestIfAny(packageDir: string): Promise<PackageManifest | null> {
  return readFile(join(packageDir, MANIFEST_FILE), 'utf8').then((text) => JSON.parse(text) as PackageManifest, () => null);
}

function bundledEntry(manifest: PackageManifest, path: string, label: string): BundledModel {
  return {
    name: manifest.name,
    path,
    label,
    family: manifest.source.family,
    quantisation: manifest.quantisation.description,
    bytes: manifest.shards.reduce((sum, shard) => sum + shard.nbytes, 0),
  };
}

/** index.json's entries: the trained model (when its package is in `modelsDir`) first, then the random one. */
export async function bundledModels(modelsDir: string, randomManifest: PackageManifest): Promise<BundledModel[]> {
  const entries: BundledModel[] = [];
  const trained = await readManifestIfAny(join(modelsDir, TRAINED_MODEL_DIR));
  if (trained) entries.push(bundledEntry(trained, TRAINED_MODEL_DIR, TRAINED_MODEL_LABEL));
  entries.push({ ...bundledEntry(randomManifest, DEFAULT_MODEL_DIR, DEFAULT_MODEL_LABEL), generatorVersion: GENERATOR_VERSION });
  entries[0].default = true;
  return entries;
}

export interface GenerateResult {
  packageDir: string;
  generated: boolean; // false: an up-to-date package was already there
  manifest: PackageManifest;
}

/** Makes sure `<modelsDir>/<DEFAULT_MODEL_DIR>` holds the current default model and index.json lists it. */
export async function generateDefaultModel(modelsDir: string, options: { force?: boolean; log?: (line: string) => void } = {}): Promise<GenerateResult> {
  const log = options.log ?? (() => {});
  const packageDir = join(modelsDir, DEFAULT_MODEL_DIR);
  await mkdir(modelsDir, { recursive: true });
  let manifest = await readManifestIfAny(packageDir);
  const current = manifest?.source?.description === DEFAULT_MODEL_SOURCE;
  if (!current || options.force) {
    const work = await mkdtemp(join(tmpdir(), 'default-model-'));
    try {
      log(`writing the random-weight checkpoint to ${work}`);
      await writeDefaultCheckpoint(work);
      const checkpoint = await openCheckpoint(work);
      const source = { ...checkpoint, description: DEFAULT_MODEL_SOURCE }; // not the temp folder's name
      log(`converting (${DEFAULT_MODEL_WEIGHTS}) into ${packageDir}`);
      manifest = await convertCheckpoint(source, packageDir, {
        plan: weightPlan(DEFAULT_MODEL_WEIGHTS), name: DEFAULT_MODEL_NAME, tokenizerDir: work, force: true,
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  // Rewritten only when it changes: other processes (parallel test files, a running dev server) may be reading it.
  const indexPath = join(modelsDir, MODELS_INDEX_FILE);
  const index = `${JSON.stringify(await bundledModels(modelsDir, manifest!), null, 2)}\n`;
  if (await readFile(indexPath, 'utf8').catch(() => null) !== index) await writeFile(indexPath, index);
  return { packageDir, generated: !current || (options.force ?? false), manifest: manifest! };
}
