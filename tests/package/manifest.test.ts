// parseManifest on the manifest of a real converted package (tiny-v2, q8) and on copies with one field damaged:
// each damage is a BAD_MANIFEST whose message and details name that field. Also: a manifest lacking a tensor the
// forward pass reads is refused by createPackageSource.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../../engine/convert/convert-checkpoint';
import { parseManifest } from '../../engine/package/manifest';
import { createPackageSource } from '../../engine/package/package-source';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { DEFAULT_PLANS } from '../../engine/weights/weight-plan';
import { fixturePath } from '../support/fixtures';

let root: string;
let valid: Record<string, any>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'manifest-'));
  await convertCheckpoint(await openCheckpoint(fixturePath('tiny-v2')), join(root, 'pkg'), { plan: DEFAULT_PLANS.q8, name: 'tiny-v2-q8', shardLimit: 16384 });
  valid = JSON.parse(await readFile(join(root, 'pkg', 'manifest.json'), 'utf8'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function damaged(edit: (m: Record<string, any>) => void): Record<string, any> {
  const copy = structuredClone(valid);
  edit(copy);
  return copy;
}

describe('parseManifest', () => {
  it('accepts the manifest the converter wrote and returns its fields', () => {
    const manifest = parseManifest(valid, 'pkg/manifest.json');
    expect(manifest.name).toBe('tiny-v2-q8');
    expect(manifest.quantisation.description).toBe('q8 g16 (embedding f16, lm_head f16)');
    expect(manifest.shards.length).toBeGreaterThan(1);
    expect(manifest.tensors.find((t) => t.name === 'model.layers.1.mlp.experts.0.up_proj.weight')).toMatchObject({ dtype: 'q8', group: 16 });
  });

  const cases: [string, (m: Record<string, any>) => void][] = [
    ['format', (m) => { m.format = 'gguf'; }],
    ['version', (m) => { m.version = 2; }],
    ['name', (m) => { delete m.name; }],
    ['licence', (m) => { m.licence = 5; }],
    ['source', (m) => { m.source = 'hub'; }],
    ['config.hiddenSize', (m) => { m.config.hiddenSize = '64'; }],
    ['config.rope.type', (m) => { m.config.rope.type = 'linear'; }],
    ['config.qLoraRank', (m) => { m.config.qLoraRank = -1; }],
    ['config.eosTokenIds[0]', (m) => { m.config.eosTokenIds = [1.5]; }],
    ['quantisation.plan.dtype', (m) => { m.quantisation.plan.dtype = 'q3'; }],
    ['tokenizer[0]', (m) => { m.tokenizer = [7]; }],
    ['experts', (m) => { m.experts = 'all'; }],
    ['shards[0].file', (m) => { m.shards[0].file = 'a.bin'; }],
    ['shards[1].sha256', (m) => { m.shards[1].sha256 = 'xyz'; }],
    ['shards[0].nbytes', (m) => { m.shards[0].nbytes = 65 * 1024 * 1024; }],
    ['tensors[1].dtype', (m) => { m.tensors[1].dtype = 'bf16'; }],
    ['tensors[2].shape[1]', (m) => { m.tensors[2].shape[1] = 0; }],
    ['tensors[3].offset', (m) => { m.tensors[3].offset += 100; }],
    ['tensors[0].nbytes', (m) => { m.tensors[0].nbytes += 4; }],
    ['tensors[4].shard', (m) => { m.tensors[4].shard = 99; }],
    ['tensors[5].group', (m) => { m.tensors[5].group = 3; }],
    ['tensors[6].name', (m) => { m.tensors[6].name = m.tensors[0].name; }],
  ];
  it.each(cases)('a damaged %s is BAD_MANIFEST naming the field', (field, edit) => {
    let error: any;
    try {
      parseManifest(damaged(edit), 'pkg/manifest.json');
    } catch (e) {
      error = e;
    }
    expect(error?.code).toBe('BAD_MANIFEST');
    expect(error.details.field).toBe(field);
    expect(error.message).toContain(`field "${field}"`);
    expect(error.message).toContain('pkg/manifest.json');
  });

  it('a tensor that overruns its shard without starting at offset 0 names that tensor', () => {
    const m = damaged((copy) => {
      const tensor = copy.tensors.find((t: any) => t.offset > 0);
      tensor.offset = Math.ceil(copy.shards[tensor.shard].nbytes / 256) * 256;
    });
    expect(() => parseManifest(m, 'x')).toThrow(/field "tensors\[\d+\]\.offset"/);
  });

  it('createPackageSource refuses a manifest without a tensor the forward pass reads', () => {
    const manifest = parseManifest(damaged((m) => { m.tensors = m.tensors.filter((t: any) => t.name !== 'lm_head.weight'); }), 'x');
    expect(() => createPackageSource(manifest, async () => new Uint8Array())).toThrow(expect.objectContaining({
      code: 'BAD_MANIFEST', message: expect.stringContaining('lm_head.weight'),
    }));
  });
});
