// A small static file server for the built app on 127.0.0.1 (an ephemeral port): no vite dev server in the tests,
// the browser gets exactly what `vite build` wrote. It answers GET and HEAD with the right MIME types (.wasm and
// .mjs included, or the browser refuses to compile or import them), honours single byte ranges (`Range:
// bytes=a-b`, `a-`, `-n`) with 206/416 as a download resume needs, and counts the bytes it sends per path so
// tests can tell how much of a file was fetched. Paths are confined to the served folder, or to a folder mounted
// under a URL prefix (`mounts`, e.g. a package generated for one test). Download tests queue one-shot faults per
// path (`faults`): 'cut' sends the first `afterBytes` body bytes and then closes the connection (a dropped network),
// 'stall' sends the first `afterBytes` and then nothing more while keeping the connection open (a hung network, to
// pause or cancel a download mid-shard), 'ignore-range' answers a Range request with the whole file (200, like a
// server without range support), 'corrupt' flips one byte of the body at file offset `at` (a damaged transfer).
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.bin': 'application/octet-stream',
};

export type ServerFault = { kind: 'cut' | 'stall'; afterBytes: number } | { kind: 'corrupt'; at: number } | { kind: 'ignore-range' };

export interface StaticServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  origin: string;
  /** Body bytes sent per URL path since start (or the last reset). */
  bytesSent: Map<string, number>;
  /** Every request received, as "METHOD /path" (a CORS preflight shows as OPTIONS). */
  requests: string[];
  /** Faults still to inject per URL path, in order: each GET of the path takes the first. */
  faults: Map<string, ServerFault[]>;
  /** Stops listening and drops every connection (a network cut, as the offline test makes); later calls do nothing. */
  close(): Promise<void>;
}

export interface StaticServerOptions {
  /** URL prefix ('/remote/pkg/') -> folder served under it. */
  mounts?: Record<string, string>;
}

/** Parses one `bytes=` range against a file of `size` bytes; null when it cannot be satisfied. */
export function parseByteRange(header: string, size: number): { start: number; end: number } | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return null;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  return start <= end && start < size ? { start, end } : null;
}

export async function startStaticServer(root: string, options: StaticServerOptions = {}): Promise<StaticServer> {
  const bytesSent = new Map<string, number>();
  const faults = new Map<string, ServerFault[]>();
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(`${request.method} ${new URL(request.url ?? '/', 'http://localhost').pathname}`);
    void serveFile(root, options.mounts ?? {}, request, response, { bytesSent, faults }).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | null = null;
  return {
    origin: `http://127.0.0.1:${port}`,
    bytesSent,
    requests,
    faults,
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      })),
  };
}

async function serveFile(appRoot: string, mounts: Record<string, string>, request: IncomingMessage, response: ServerResponse,
  { bytesSent, faults }: { bytesSent: Map<string, number>; faults: Map<string, ServerFault[]> }) {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
  const mount = Object.keys(mounts).find((prefix) => urlPath.startsWith(prefix));
  const root = mount ? mounts[mount] : appRoot;
  const servedPath = mount ? `/${urlPath.slice(mount.length)}` : urlPath;
  const relative = normalize(servedPath.endsWith('/') ? `${servedPath}index.html` : servedPath).replace(/^([/\\])+/, '');
  const filePath = join(root, relative);
  if (relative.startsWith('..') || !(filePath === root || filePath.startsWith(root + sep))) {
    response.writeHead(403).end();
    return;
  }
  const info = await stat(filePath).catch(() => null);
  if (!info?.isFile()) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${urlPath}`);
    return;
  }
  const headers: Record<string, string | number> = {
    'content-type': MIME_TYPES[extname(filePath).toLowerCase()] ?? 'application/octet-stream',
    'accept-ranges': 'bytes',
    'cache-control': 'no-cache',
  };
  let start = 0;
  let end = info.size - 1;
  let status = 200;
  const fault = faults.get(urlPath)?.shift();
  const rangeHeader = fault?.kind === 'ignore-range' ? undefined : request.headers.range;
  if (rangeHeader) {
    const range = parseByteRange(rangeHeader, info.size);
    if (!range) {
      response.writeHead(416, { 'content-range': `bytes */${info.size}` }).end();
      return;
    }
    ({ start, end } = range);
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${info.size}`;
  }
  headers['content-length'] = end - start + 1;
  response.writeHead(status, headers);
  if (request.method === 'HEAD' || info.size === 0) {
    response.end();
    return;
  }
  const cut = fault?.kind === 'cut' || fault?.kind === 'stall' ? Math.min(end, start + fault.afterBytes - 1) : end;
  const stream = createReadStream(filePath, { start, end: cut });
  stream.on('data', (chunk) => bytesSent.set(urlPath, (bytesSent.get(urlPath) ?? 0) + chunk.length));
  stream.on('error', () => response.destroy());
  if (fault?.kind === 'cut') {
    stream.pipe(response, { end: false });
    stream.on('end', () => response.socket?.end()); // flushes what was sent, then closes: the body stays short
  } else if (fault?.kind === 'stall') {
    stream.pipe(response, { end: false }); // the rest never comes; the client's abort or close() ends it
  } else if (fault?.kind === 'corrupt') {
    stream.pipe(flipByte(fault.at - start)).pipe(response);
  } else {
    stream.pipe(response);
  }
}

/** Passes bytes through, inverting the one at stream position `at`. */
function flipByte(at: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (at >= seen && at < seen + chunk.length) chunk[at - seen] ^= 0xff;
      seen += chunk.length;
      done(null, chunk);
    },
  });
}
