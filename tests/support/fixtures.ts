// Paths of the shared reference checkpoints (../shared/fixtures beside the checkout).
import { resolve } from 'node:path';

export const FIXTURES_DIR = resolve(__dirname, '../../../shared/fixtures');
export const FIXTURE_NAMES = ['tiny-v2', 'tiny-v3-fp8', 'tiny-v32'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

export function fixturePath(name: FixtureName): string {
  return resolve(FIXTURES_DIR, name);
}
