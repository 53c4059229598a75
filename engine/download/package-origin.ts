// Where a package's bytes come from while it is being stored: a URL prefix (fetch, with `Range: bytes=<from>-` to
// continue a shard) or a local folder the person picked (File objects; `slice(from)` continues a shard). Both give
// a shard as a byte stream starting at `from`, or at 0 when the origin cannot start elsewhere (a server that
// answers a Range request with 200): the downloader then starts that shard over. Failures say what probably
// happened: a fetch that throws before any answer is a network failure or a CORS refusal (the browser does not say
// which), so the NETWORK message names both and what to check.
import { EngineError } from '../errors';
import { networkError, type FetchFunction } from '../package/package-http';

export interface ShardStream {
  body: ReadableStream<Uint8Array>;
  from: number; // byte offset of the stream's first byte in the shard
}

export interface PackageOrigin {
  kind: 'url' | 'folder';
  where: string; // the URL prefix or the folder's name, for messages
  readText(name: string, signal: AbortSignal): Promise<string>;
  openShard(file: string, from: number, signal: AbortSignal): Promise<ShardStream>;
}

export function abortedError(why: string): EngineError {
  return new EngineError('ABORTED', `The download was ${why}. What is stored is kept: load the model again to continue.`, { why });
}

/** fetch for downloads: an abort is ABORTED; a request that never got an answer is explained (network or CORS). */
async function fetchForDownload(fetchFn: FetchFunction, url: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetchFn(url, init);
  } catch (cause) {
    if (init.signal?.aborted) throw abortedError(String(init.signal.reason ?? 'stopped'));
    throw networkError(url,
      `no answer (${(cause as Error).message}). Either the network is down or the server does not let this page ` +
      'read it: a server on another origin must send Access-Control-Allow-Origin (and allow the Range header to ' +
      'resume). Open the URL in a browser tab to check it exists, fix the server\'s CORS headers, or download the ' +
      'folder and load it from disk', { cors: true });
  }
  if (!response.ok) {
    throw networkError(url, `the server answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`, { status: response.status });
  }
  return response;
}

export function urlOrigin(prefix: string, fetchFn: FetchFunction = (input, init) => globalThis.fetch(input, init)): PackageOrigin {
  return {
    kind: 'url',
    where: prefix,
    async readText(name, signal) {
      return (await fetchForDownload(fetchFn, prefix + name, { signal })).text();
    },
    async openShard(file, from, signal) {
      const url = prefix + file;
      const headers: Record<string, string> = from > 0 ? { Range: `bytes=${from}-` } : {};
      const response = await fetchForDownload(fetchFn, url, { signal, headers, cache: 'no-store' });
      if (!response.body) throw networkError(url, 'the answer had no body');
      if (from > 0 && response.status === 206) {
        const start = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
        if (start !== undefined && Number(start) !== from) {
          await response.body.cancel();
          throw networkError(url, `the server sent bytes from ${start} for a request from ${from}`);
        }
        return { body: response.body, from };
      }
      return { body: response.body, from: 0 }; // 200: the whole file (Range ignored)
    },
  };
}

/** A picked folder's files by name (the package's files sit at the folder's top; sub-folders are ignored). */
export function folderOrigin(files: readonly File[]): PackageOrigin {
  const byName = new Map<string, File>();
  let folder = '';
  for (const file of files) {
    const parts = (file.webkitRelativePath || file.name).split('/');
    if (parts.length > 2) continue; // inside a sub-folder
    folder ||= parts.length === 2 ? parts[0] : '';
    byName.set(parts[parts.length - 1], file);
  }
  const where = folder || 'the picked folder';
  const pick = (name: string): File => {
    const file = byName.get(name);
    if (!file) {
      throw new EngineError('BAD_MANIFEST', `${where} has no ${name}. Pick the folder that holds the package's manifest.json, its shards and tokenizer files.`, { where, missing: name });
    }
    return file;
  };
  return {
    kind: 'folder',
    where,
    readText: async (name) => pick(name).text(),
    openShard: async (file, from) => ({ body: pick(file).slice(from).stream(), from }),
  };
}
