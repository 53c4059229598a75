// index.json's list of bundled models: the trained model committed under public/models/ comes first and is the
// default; the generated random-weight model follows (with its generator version); without the trained package
// the random one is the only entry and the default.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest, type PackageManifest } from '../../engine/package/manifest';
import { DEFAULT_MODEL_DIR, GENERATOR_VERSION, TRAINED_MODEL_DIR } from '../../scripts/default-model/default-model-config';
import { bundledModels } from '../../scripts/default-model/generate-default-model';

const MODELS = resolve(__dirname, '../../public/models');

async function trainedManifest(): Promise<PackageManifest> {
  const path = join(MODELS, TRAINED_MODEL_DIR, 'manifest.json');
  return parseManifest(JSON.parse(await readFile(path, 'utf8')), path);
}

describe('bundled models index', () => {
  it('lists the committed trained model first, as the default, then the random-weight model', async () => {
    const manifest = await trainedManifest();
    const entries = await bundledModels(MODELS, manifest); // the trained manifest stands in for the random one's fields
    expect(entries.map((e) => e.path)).toEqual([TRAINED_MODEL_DIR, DEFAULT_MODEL_DIR]);
    expect(entries[0]).toMatchObject({ default: true, family: 'deepseek_v32', quantisation: 'f16 (routed experts q8 g16)' });
    expect(entries[0].generatorVersion).toBeUndefined();
    expect(entries[0].bytes).toBeLessThanOrEqual(40 * 1024 * 1024);
    expect(entries[1]).toMatchObject({ generatorVersion: GENERATOR_VERSION });
    expect(entries[1].default).toBeUndefined();
  });

  it('makes the random-weight model the default when no trained package is there', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'bundled-index-'));
    try {
      const entries = await bundledModels(empty, await trainedManifest());
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ path: DEFAULT_MODEL_DIR, default: true, generatorVersion: GENERATOR_VERSION });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
