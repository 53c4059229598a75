// Converting a fixture to an f32 package through the CLI with `--experts E` (every routed expert kept) and running
// the golden sequences on WebGPU from the package reproduces transformers' logits within the f32 bar (5e-3), like
// the checkpoint itself does. Also `npm run verify` on a package: --golden is required, --weights must match.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASS_THRESHOLDS, verifyCheckpoint } from '../../engine/cli/verification';
import { openPackage } from '../../engine/package/package-node';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { fixturePath } from '../support/fixtures';
import { testDevice } from '../support/gpu';

const REPO = resolve(__dirname, '../..');
let root: string;

function runCli(script: string, args: string[]) {
  return spawnSync(process.execPath, ['scripts/run-ts.mjs', script, ...args], { cwd: REPO, encoding: 'utf8' });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'package-golden-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('an f32 package converted with --experts E reproduces the golden logits', () => {
  it.each(['tiny-v3-fp8', 'tiny-v32'] as const)('%s: prefill and decode within 5e-3 of transformers', async (name) => {
    const dir = fixturePath(name);
    const experts = (await openCheckpoint(dir)).config.nRoutedExperts;
    const out = join(root, name);
    const run = runCli('engine/cli/convert.ts', ['--from', dir, '--out', out, '--weights', 'f32', '--experts', String(experts)]);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const { manifest, source } = await openPackage(out, { verify: true });
    expect(manifest.experts).toBeNull();
    expect(manifest.config.nRoutedExperts).toBe(experts);
    const { device } = await testDevice();
    const report = await verifyCheckpoint(device, { source, goldenPath: join(dir, 'golden.safetensors'), weights: 'f32', attention: 'sparse' });
    for (const phase of [report.prefill, report.decode]) {
      expect(phase.positions).toBeGreaterThan(0);
      expect(phase.maxAbsErr).toBeLessThanOrEqual(PASS_THRESHOLDS.f32.maxAbsErr);
      expect(phase.top1Agree).toBe(1);
    }
    expect(report.pass).toBe(true);
  });

  it('npm run verify on a package without --golden, or with another --weights, is a usage error (exit 2)', () => {
    const out = join(root, 'tiny-v3-fp8');
    const noGolden = runCli('engine/cli/verify.ts', ['--checkpoint', out]);
    expect(noGolden.status).toBe(2);
    expect(noGolden.stderr).toMatch(/model package, which carries no golden logits; pass --golden FILE/);
    const golden = join(fixturePath('tiny-v3-fp8'), 'golden.safetensors');
    const otherWeights = runCli('engine/cli/verify.ts', ['--checkpoint', out, '--golden', golden, '--weights', 'f16']);
    expect(otherWeights.status).toBe(2);
    expect(otherWeights.stderr).toMatch(/--weights f16 differs from the package's f32/);
  });
});
