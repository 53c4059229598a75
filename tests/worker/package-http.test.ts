// Model packages over HTTP against a real server on 127.0.0.1 serving the bundled default model: with Range
// support every tensor's bytes come from 206 range reads, without it from whole-shard reads (200), and both equal
// what the Node folder reader gives; the tokenizer files and the models index come from the same server; a missing
// manifest is NETWORK naming the URL, an unparsable or invalid one BAD_MANIFEST, an unreachable server NETWORK.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEngineError, type EngineErrorCode } from '../../engine/errors';
import { openHttpPackage } from '../../engine/package/package-http';
import { openPackage } from '../../engine/package/package-node';
import { listModels } from '../../engine/worker/model-index';
import { DEFAULT_MODEL_DIR } from '../../scripts/default-model/default-model-config';
import { PUBLIC_MODELS_DIR, bundledModel } from '../support/bundled-model';
import { serveFolder, type FolderServer } from '../support/package-server';

let withRange: FolderServer;
let withoutRange: FolderServer;
let brokenDir: string;
let broken: FolderServer;

beforeAll(async () => {
  await bundledModel();
  withRange = await serveFolder(PUBLIC_MODELS_DIR, { range: true });
  withoutRange = await serveFolder(PUBLIC_MODELS_DIR, { range: false });
  brokenDir = await mkdtemp(join(tmpdir(), 'package-http-'));
  const manifest = JSON.parse(await readFile(join(PUBLIC_MODELS_DIR, DEFAULT_MODEL_DIR, 'manifest.json'), 'utf8'));
  await mkdir(join(brokenDir, 'unparsable'));
  await writeFile(join(brokenDir, 'unparsable', 'manifest.json'), '{"format": "deepseek-webgpu-package", "vers');
  await mkdir(join(brokenDir, 'bad-offset'));
  manifest.tensors[1].offset += 4;
  await writeFile(join(brokenDir, 'bad-offset', 'manifest.json'), JSON.stringify(manifest));
  broken = await serveFolder(brokenDir, { range: true });
});

afterAll(async () => {
  await Promise.all([withRange, withoutRange, broken].map((server) => server?.close()));
  if (brokenDir) await rm(brokenDir, { recursive: true, force: true });
});

async function expectRejection(run: () => Promise<unknown>, code: EngineErrorCode, ...fragments: string[]): Promise<Record<string, unknown>> {
  const error = await run().then(() => undefined, (e: unknown) => e);
  expect(isEngineError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  for (const fragment of fragments) expect((error as Error).message).toContain(fragment);
  return (error as { details: Record<string, unknown> }).details;
}

async function expectSameTensors(server: FolderServer): Promise<Awaited<ReturnType<typeof openHttpPackage>>> {
  const local = await openPackage(join(PUBLIC_MODELS_DIR, DEFAULT_MODEL_DIR));
  const remote = await openHttpPackage(`${server.url}${DEFAULT_MODEL_DIR}`);
  expect(remote.manifest).toEqual(local.manifest);
  for (const { name } of local.manifest.tensors) {
    const [want, got] = [await local.source.readPacked!(name), await remote.source.readPacked!(name)];
    expect(got!.words.length, name).toBe(want!.words.length);
    expect(Buffer.from(got!.words.buffer, got!.words.byteOffset, got!.words.byteLength)
      .equals(Buffer.from(want!.words.buffer, want!.words.byteOffset, want!.words.byteLength)), name).toBe(true);
  }
  return remote;
}

describe('package over HTTP', () => {
  it('reads every tensor with Range requests (206) as the folder reader does, and the tokenizer files', async () => {
    const remote = await expectSameTensors(withRange);
    const shardRequests = withRange.requests.filter((r) => r.path.endsWith('.bin'));
    expect(shardRequests.length).toBe(remote.traffic.rangeRequests);
    expect(shardRequests.length).toBeGreaterThanOrEqual(remote.manifest.tensors.length);
    expect(shardRequests.every((r) => r.status === 206 && r.range?.startsWith('bytes='))).toBe(true);
    expect(remote.traffic.wholeShardReads).toBe(0);
    const files = await remote.readTokenizerFiles();
    const dir = join(PUBLIC_MODELS_DIR, DEFAULT_MODEL_DIR);
    expect(files.tokenizerConfig).toEqual(JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')));
    expect(Object.keys(files.tokenizerJson)).toEqual(Object.keys(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'))));
  });

  it('falls back to whole-shard reads when the server ignores Range (200), asking with Range only once', async () => {
    const remote = await expectSameTensors(withoutRange);
    const shardRequests = withoutRange.requests.filter((r) => r.path.endsWith('.bin'));
    expect(shardRequests.every((r) => r.status === 200)).toBe(true);
    expect(shardRequests.filter((r) => r.range !== undefined).length).toBe(1);
    expect(shardRequests.length).toBe(remote.traffic.wholeShardReads);
    expect(remote.traffic.wholeShardReads).toBeGreaterThanOrEqual(remote.manifest.shards.length);
    console.log(`no Range: ${remote.traffic.wholeShardReads} whole-shard reads for ${remote.manifest.shards.length} shards, ${remote.manifest.tensors.length} tensors`);
  });

  it('lists the bundled models from index.json with absolute package URLs that open', async () => {
    const entries = await listModels(`${withRange.url}index.json`);
    expect(entries).toContainEqual(expect.objectContaining({ id: DEFAULT_MODEL_DIR, url: `${withRange.url}${DEFAULT_MODEL_DIR}/`, label: 'random weights', family: 'deepseek_v32', bundled: true }));
    expect(entries[0]).toEqual(expect.objectContaining({ id: 'deepseek-v32-dictionary-chat', url: `${withRange.url}deepseek-v32-dictionary-chat/`, bundled: true }));
    const relative = await listModels('/index.json', { base: `${withRange.url}some/page.html` });
    expect(relative).toEqual(entries);
    expect((await openHttpPackage(entries[0].url)).manifest.name).toBe(entries[0].name);
  });

  it('a missing manifest is NETWORK naming the URL and status; a corrupt one BAD_MANIFEST naming the field', async () => {
    const missing = `${withRange.url}no-such-model/manifest.json`;
    const details = await expectRejection(() => openHttpPackage(`${withRange.url}no-such-model`), 'NETWORK', missing, '404', 'retry');
    expect(details).toMatchObject({ url: missing, status: 404 });
    await expectRejection(() => openHttpPackage(`${broken.url}unparsable/`), 'BAD_MANIFEST', `${broken.url}unparsable/manifest.json`, 'JSON');
    await expectRejection(() => openHttpPackage(`${broken.url}bad-offset/`), 'BAD_MANIFEST', 'tensors[1].offset', 'multiple of 256');
    await expectRejection(() => listModels(`${withRange.url}nothing.json`), 'NETWORK', '404');
  });

  it('an unreachable server is NETWORK naming the URL', async () => {
    const closed = await serveFolder(PUBLIC_MODELS_DIR, { range: true });
    await closed.close();
    await expectRejection(() => openHttpPackage(`${closed.url}${DEFAULT_MODEL_DIR}`), 'NETWORK', `${closed.url}${DEFAULT_MODEL_DIR}/manifest.json`, 'request failed');
  });
});
