// The converter streams: a generated checkpoint whose embedding and lm_head are 512 MiB BF16 tensors each
// ([262144, 1024]; 1 GiB of f32 apiece once widened) converts to an f16 package in a child process whose peak
// resident memory (/usr/bin/time -v) stays under 768 MiB. SIGINT during the conversion removes the temp folder.
// Everything lives under os.tmpdir() and is deleted afterwards.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roundF16 } from '../../engine/weights/quant';
import { f16BitsToF32 } from '../../engine/weights/safetensors';
import { fixturePath } from '../support/fixtures';
import { generatedValue, writeGeneratedCheckpoint } from '../support/generated-checkpoint';

const REPO = resolve(__dirname, '../..');
const VOCAB = 262144;
const HIDDEN = 1024;
const TENSOR_BYTES = VOCAB * HIDDEN * 2; // 512 MiB of BF16
const RSS_LIMIT_KIB = 768 * 1024;
let root: string;
let checkpoint: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'convert-memory-'));
  checkpoint = join(root, 'checkpoint');
  await mkdir(checkpoint);
  const config = JSON.parse(await readFile(join(fixturePath('tiny-v2'), 'config.json'), 'utf8'));
  Object.assign(config, { vocab_size: VOCAB, hidden_size: HIDDEN, num_hidden_layers: 1, first_k_dense_replace: 1, intermediate_size: 64 });
  await writeGeneratedCheckpoint(checkpoint, config, (_, shape) => (shape[0] === VOCAB ? 'BF16' : 'F32'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const CONVERT = ['scripts/run-ts.mjs', 'engine/cli/convert.ts', '--weights', 'f16'];

describe('converting a checkpoint with two 512 MiB tensors', () => {
  it('SIGINT mid-conversion exits 130 and removes OUT.tmp-*', async () => {
    const out = join(root, 'interrupted');
    const child = spawn(process.execPath, [...CONVERT, '--from', checkpoint, '--out', out], { cwd: REPO });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    while (!/convert: \d+\/\d+ tensors/.test(stderr) && child.exitCode === null) await new Promise((wait) => setTimeout(wait, 50));
    expect(child.exitCode, stderr).toBeNull();
    expect((await readdir(root)).some((name) => name.startsWith('interrupted.tmp-'))).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/interrupted; removed .*interrupted\.tmp-/);
    expect((await readdir(root)).filter((name) => name.startsWith('interrupted'))).toEqual([]);
  });

  it(`runs in a child process with peak RSS below ${RSS_LIMIT_KIB / 1024} MiB and writes the right f16 words`, async () => {
    const out = join(root, 'package');
    const run = spawnSync('/usr/bin/time', ['-v', process.execPath, ...CONVERT, '--from', checkpoint, '--out', out], { cwd: REPO, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const peakKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr)![1]);
    console.log(`convert: peak RSS ${(peakKiB / 1024).toFixed(0)} MiB for two ${TENSOR_BYTES / 2 ** 20} MiB BF16 tensors`);
    expect(peakKiB).toBeLessThan(RSS_LIMIT_KIB);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    const embedding = manifest.tensors.find((t: { name: string }) => t.name === 'model.embed_tokens.weight');
    expect(embedding).toMatchObject({ dtype: 'f16', nbytes: TENSOR_BYTES, offset: 0 });
    expect(manifest.shards.length).toBeGreaterThanOrEqual(16);
    // The last words of the embedding lie in its last shard: check them against the generator's values.
    const last = manifest.shards[embedding.shard + TENSOR_BYTES / manifest.shards[embedding.shard].nbytes - 1];
    const handle = await open(join(out, last.file), 'r');
    const tail = new Uint16Array(1024);
    await handle.read(new Uint8Array(tail.buffer), 0, 2048, last.nbytes - 2048);
    await handle.close();
    const bf16 = (v: number) => new Float32Array(new Uint32Array([(new Uint32Array(new Float32Array([v]).buffer)[0] & 0xffff0000) >>> 0]).buffer)[0];
    for (let i = 0; i < 1024; i++) {
      expect(f16BitsToF32(tail[i])).toBe(roundF16(bf16(generatedValue(0, VOCAB * HIDDEN - 1024 + i))));
    }
  });
});
