// A real HTTP server on 127.0.0.1 serving a folder (a model package, the models index) the way a static host
// does: GET with or without honouring `Range: bytes=a-b` (206 + Content-Range, or the whole file with 200 as a
// server without Range support answers), 404 for a missing file. It logs every request so tests can count them.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface ServedRequest {
  path: string;
  range: string | undefined;
  status: number;
}

export interface FolderServer {
  url: string; // http://127.0.0.1:PORT/ (ends with '/')
  requests: ServedRequest[];
  close(): Promise<void>;
}

export async function serveFolder(root: string, options: { range: boolean }): Promise<FolderServer> {
  const requests: ServedRequest[] = [];
  const server: Server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const range = request.headers.range;
    const answer = (status: number) => requests.push({ path, range, status });
    const file = join(root, path);
    void stat(file).then((info) => {
      if (!info.isFile()) throw new Error('not a file');
      const match = options.range ? /^bytes=(\d+)-(\d+)$/.exec(range ?? '') : null;
      if (match) {
        const [start, end] = [Number(match[1]), Math.min(Number(match[2]), info.size - 1)];
        response.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${info.size}`, 'Content-Length': end - start + 1 });
        answer(206);
        createReadStream(file, { start, end }).pipe(response);
      } else {
        response.writeHead(200, { 'Content-Length': info.size });
        answer(200);
        createReadStream(file).pipe(response);
      }
    }, () => {
      answer(404);
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
