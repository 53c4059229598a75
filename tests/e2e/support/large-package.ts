// A model package of a few hundred MiB for the memory test, generated at test time into a temp folder (never
// committed): the bundled model's DeepSeek-V3.2 shape with wider MoE experts and dense MLP, random weights written
// as a BF16 checkpoint by scripts/default-model's writer, converted to an f32 package by the project's converter
// (f32 keeps every tensor's bytes at four per value, so the embedding and lm_head alone are 2 x 125.8 MiB). Each
// tensor stays under SwiftShader's 128 MiB storage-buffer binding limit.
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../../engine/convert/convert-checkpoint';
import type { PackageManifest } from '../../../engine/package/manifest';
import { openCheckpoint } from '../../../engine/weights/checkpoint-node';
import { weightPlan } from '../../../engine/weights/weight-plan';
import { deepseekV3TokenizerPath } from '../../../scripts/default-model/deepseek-v3-tokenizer';
import { defaultModelConfig, tokenizerVocabSize } from '../../../scripts/default-model/default-model-config';
import { writeRandomCheckpoint } from '../../../scripts/default-model/random-checkpoint';

export const LARGE_PACKAGE_NAME = 'Generated f32 package for the memory test (random weights)';

/** Writes the package into `outDir` (created); returns its manifest. */
export async function writeLargePackage(outDir: string): Promise<PackageManifest> {
  const work = await mkdtemp(join(tmpdir(), 'large-checkpoint-'));
  try {
    const tokenizerJson = JSON.parse(await readFile(deepseekV3TokenizerPath('tokenizer.json'), 'utf8'));
    const config = { ...defaultModelConfig(tokenizerVocabSize(tokenizerJson)), intermediate_size: 2048, moe_intermediate_size: 1024 };
    await writeRandomCheckpoint(work, config, 0x1a29e);
    for (const file of ['tokenizer.json', 'tokenizer_config.json'] as const) await copyFile(deepseekV3TokenizerPath(file), join(work, file));
    const checkpoint = await openCheckpoint(work);
    return await convertCheckpoint({ ...checkpoint, description: 'tests/e2e/support/large-package.ts, random weights' }, outDir, {
      plan: weightPlan('f32'), name: LARGE_PACKAGE_NAME, tokenizerDir: work, force: true,
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
