// Reference checkpoints with transformers' logits: the shared ones (../shared/fixtures beside the checkout) and
// the project's own in other shapes (tests/fixtures, made by scripts/fixtures/make_shape_fixtures.py).
import { resolve } from 'node:path';

export const FIXTURES_DIR = resolve(__dirname, '../../../shared/fixtures');
export const SHAPE_FIXTURES_DIR = resolve(__dirname, '../fixtures');
export const SHARED_FIXTURE_NAMES = ['tiny-v2', 'tiny-v3-fp8', 'tiny-v32'] as const;
export const SHAPE_FIXTURE_NAMES = ['shape-v2-grouped', 'shape-v3-fp8-partial', 'shape-v32-wide'] as const;
/** Every fixture, shared first. */
export const FIXTURE_NAMES = [...SHARED_FIXTURE_NAMES, ...SHAPE_FIXTURE_NAMES] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

export function fixturePath(name: FixtureName): string {
  const shared = (SHARED_FIXTURE_NAMES as readonly string[]).includes(name);
  return resolve(shared ? FIXTURES_DIR : SHAPE_FIXTURES_DIR, name);
}

/** Whether the fixture is a V3.2 model, with the DSA indexer (so both attention modes apply). */
export function hasIndexer(name: FixtureName): boolean {
  return name.endsWith('v32') || name.includes('-v32-');
}
