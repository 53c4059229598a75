// `npm run convert` as a user runs it (a child process): every kind of bad input exits with status 2 and a message
// saying what was wrong, and leaves neither OUT nor an OUT.tmp-* folder; an existing OUT is refused without
// --force, and --force replaces only a package or an empty folder.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath } from '../support/fixtures';
import { copyToTemp, rewriteTensors } from '../support/safetensors-writer';

const REPO = resolve(__dirname, '../..');
let root: string;
let noScales: string;
let llama: string;
let badIds: string;

function convert(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const run = spawnSync(process.execPath, ['scripts/run-ts.mjs', 'engine/cli/convert.ts', ...args], { cwd: REPO, encoding: 'utf8' });
  return { status: run.status, stderr: run.stderr, stdout: run.stdout };
}

/** The entries of `root` whose names start with `out` (OUT itself and any OUT.tmp-*). */
async function outputs(): Promise<string[]> {
  return (await readdir(root)).filter((name) => name.startsWith('out'));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'convert-cli-'));
  noScales = await copyToTemp(fixturePath('tiny-v3-fp8'));
  const indexPath = join(noScales, 'model.safetensors.index.json');
  const index = JSON.parse(await readFile(indexPath, 'utf8'));
  for (const name of Object.keys(index.weight_map)) if (name.endsWith('_scale_inv')) delete index.weight_map[name];
  await writeFile(indexPath, JSON.stringify(index));
  for (const file of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
    await rewriteTensors(join(noScales, file), (tensors) => {
      for (const name of [...tensors.keys()]) if (name.endsWith('_scale_inv')) tensors.delete(name);
    });
  }
  badIds = join(root, 'bad-ids.json');
  await writeFile(badIds, JSON.stringify([[1, 2, 3], [4, 5, 999999]]));
  llama = join(root, 'llama');
  await mkdir(llama);
  await writeFile(join(llama, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 64, num_hidden_layers: 2, vocab_size: 128 }));
});

afterAll(async () => {
  await Promise.all([root, noScales].map((dir) => rm(dir, { recursive: true, force: true })));
});

const V2 = () => fixturePath('tiny-v2');
const badInputs: [string, () => string[], RegExp][] = [
  ['a missing --from folder', () => ['--from', join(root, 'nowhere')], /BAD_CHECKPOINT.*config\.json.*no such file/],
  ['a Llama config.json', () => ['--from', llama], /BAD_CHECKPOINT.*model_type.*deepseek_v2.*llama/],
  ['FP8 weights without their scale tensors', () => ['--from', noScales], /BAD_CHECKPOINT.*weight_scale_inv.*block scale/],
  ['--experts above E', () => ['--from', V2(), '--experts', '9'], /--experts 9 is more than the 8 routed experts/],
  ['--experts 0', () => ['--from', V2(), '--experts', '0'], /--experts must be a positive integer, not "0"/],
  ['--experts 2.5', () => ['--from', V2(), '--experts', '2.5'], /--experts must be a positive integer, not "2.5"/],
  ['calibration ids outside the vocabulary', () => ['--from', V2(), '--experts', '4', '--calibration', badIds], /BAD_CHECKPOINT.*bad-ids\.json: sequence 1, position 2: expected a token id in \[0, \d+\), found 999999/],
  ['--weights q3', () => ['--from', V2(), '--weights', 'q3'], /--weights must be one of f32, f16, q8, q4, not "q3"/],
  ['--group 12', () => ['--from', V2(), '--weights', 'q4', '--group', '12'], /--group must be a positive multiple of 8, not 12/],
  ['--group x', () => ['--from', V2(), '--group', 'x'], /--group must be a positive integer, not "x"/],
  ['a missing --calibration file', () => ['--from', V2(), '--calibration', join(root, 'none.txt')], /--calibration .*none\.txt: no such file/],
  ['an --out whose parent folder is missing', () => ['--from', V2(), '--out', join(root, 'out-parent', 'pkg')], /out-parent \(the folder --out goes in\) does not exist/],
  ['an unknown option', () => ['--from', V2(), '--bits', '4'], /Unknown option '--bits'/],
];

describe('npm run convert on bad input', () => {
  it.each(badInputs)('%s: exit 2, a message saying what is wrong, no OUT and no OUT.tmp-*', async (_, args, message) => {
    const given = args();
    const run = convert(given.includes('--out') ? given : [...given, '--out', join(root, 'out')]);
    expect(run.stderr).toMatch(message);
    expect(run.status).toBe(2);
    expect(await outputs()).toEqual([]);
  });
});

describe('npm run convert and an existing OUT', () => {
  it('refuses an existing OUT without --force, and a non-package folder even with --force, leaving it untouched', async () => {
    const out = join(root, 'out-existing');
    await mkdir(out);
    await writeFile(join(out, 'notes.txt'), 'mine');
    for (const force of [[], ['--force']]) {
      const run = convert(['--from', V2(), '--out', out, ...force]);
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(force.length ? /neither empty nor a model package/ : /already exists; pass --force/);
      expect(await readdir(out)).toEqual(['notes.txt']);
    }
    await rm(out, { recursive: true });
    expect(await outputs()).toEqual([]);
  });

  it('writes a package, refuses to overwrite it without --force, replaces it with --force (and --experts E keeps all)', async () => {
    const out = join(root, 'out-package');
    const first = convert(['--from', V2(), '--out', out, '--weights', 'q8', '--name', 'first']);
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout.trim().split('\n').pop()!)).toMatchObject({ name: 'first', quantisation: 'q8 g16 (embedding f16, lm_head f16)' });
    expect(first.stderr).toMatch(/convert: \d+\/\d+ tensors, .* \(100%\)/);
    expect(convert(['--from', V2(), '--out', out, '--name', 'second']).status).toBe(2);
    const second = convert(['--from', V2(), '--out', out, '--weights', 'f16', '--experts', '8', '--name', 'second', '--force']);
    expect(second.status).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'second', experts: null, quantisation: { description: 'f16' } });
    expect(await outputs()).toEqual(['out-package']);
    await rm(out, { recursive: true });
  });
});
