// `npm run verify --routed-experts`: a checkpoint run with its routed experts in another format than the rest
// (the bundled model's f16 + routed experts q8 plan), judged by the bar of the plan's least precise format.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QUANTISED_BARS } from '../../engine/cli/pass-bars';
import { fixturePath } from '../support/fixtures';

const REPO = resolve(__dirname, '../..');

function verify(args: string[]) {
  return spawnSync(process.execPath, ['scripts/run-ts.mjs', 'engine/cli/verify.ts', ...args], { cwd: REPO, encoding: 'utf8' });
}

describe('npm run verify --routed-experts', () => {
  it('runs tiny-v32 with f16 matrices and q8 routed experts against the q8 bar', () => {
    const run = verify(['--checkpoint', fixturePath('tiny-v32'), '--weights', 'f16', '--routed-experts', 'q8']);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout.trim().split('\n').pop()!);
    console.log(`tiny-v32 f16 + routed experts q8: ${JSON.stringify(report.all)}`);
    expect(report.plan).toBe('f16 (routed experts q8 g16)');
    expect(report.bar).toEqual({ over: 'all', ...QUANTISED_BARS['tiny-v32'].q8 });
    expect(report.pass).toBe(true);
    // q8 experts cost some agreement against the f32 reference, but far less than the bar allows.
    expect(report.all.meanKL).toBeLessThan(QUANTISED_BARS['tiny-v32'].q8.maxMeanKL / 10);
  });

  it('rejects a format name it does not know (exit 2)', () => {
    const run = verify(['--checkpoint', fixturePath('tiny-v32'), '--routed-experts', 'q3']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--routed-experts/);
  });
});
