// The e2e static server answers like a plain file host that a download resume can rely on: whole files with the
// right MIME types, single byte ranges as 206 with Content-Range, unsatisfiable ranges as 416, no escape from the
// served folder; and it counts the bytes it sent per path.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseByteRange, startStaticServer, type StaticServer } from './support/static-server';

describe('e2e static server', () => {
  let parent: string;
  let root: string;
  let server: StaticServer;
  const shard = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 256);

  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'e2e-static-'));
    root = join(parent, 'app');
    await mkdir(root);
    await writeFile(join(parent, 'secret.txt'), 'outside the served folder');
    await writeFile(join(root, 'index.html'), '<p>app</p>');
    await writeFile(join(root, 'runtime.wasm'), new Uint8Array([0, 97, 115, 109]));
    await writeFile(join(root, 'module.mjs'), 'export {}');
    await writeFile(join(root, 'shard-00000.bin'), shard);
    server = await startStaticServer(root);
  });
  afterAll(async () => {
    await server.close();
    await rm(parent, { recursive: true, force: true });
  });

  it('serves index.html for / and the MIME types browsers insist on', async () => {
    const index = await fetch(`${server.origin}/`);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await index.text()).toBe('<p>app</p>');
    expect((await fetch(`${server.origin}/runtime.wasm`)).headers.get('content-type')).toBe('application/wasm');
    expect((await fetch(`${server.origin}/module.mjs`)).headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('answers a byte range with 206, Content-Range and exactly those bytes', async () => {
    server.bytesSent.clear();
    const response = await fetch(`${server.origin}/shard-00000.bin`, { headers: { range: 'bytes=100-199' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe('bytes 100-199/1000');
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(shard.subarray(100, 200));
    const rest = await fetch(`${server.origin}/shard-00000.bin`, { headers: { range: 'bytes=900-' } });
    expect(new Uint8Array(await rest.arrayBuffer())).toEqual(shard.subarray(900));
    expect(server.bytesSent.get('/shard-00000.bin')).toBe(200);
  });

  it('refuses ranges past the end with 416 and paths outside the folder', async () => {
    const past = await fetch(`${server.origin}/shard-00000.bin`, { headers: { range: 'bytes=1000-' } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */1000');
    for (const escape of ['/..%2fsecret.txt', '/%2e%2e/secret.txt', '/app/..%2f..%2fsecret.txt']) {
      expect((await fetch(`${server.origin}${escape}`)).status).toBe(404);
    }
    expect((await fetch(`${server.origin}/missing.json`)).status).toBe(404);
  });

  it('parses suffix and open ranges and rejects malformed ones', () => {
    expect(parseByteRange('bytes=-10', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseByteRange('bytes=5-', 1000)).toEqual({ start: 5, end: 999 });
    expect(parseByteRange('bytes=5-5000', 1000)).toEqual({ start: 5, end: 999 });
    expect(parseByteRange('bytes=9-3', 1000)).toBeNull();
    expect(parseByteRange('items=0-1', 1000)).toBeNull();
    expect(parseByteRange('bytes=-', 1000)).toBeNull();
  });
});
