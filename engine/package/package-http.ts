// A model package read over HTTP (the browser worker's source for the bundled models and packages by URL): the
// manifest and tokenizer files from a URL prefix, tensor bytes with HTTP Range requests. A server that ignores
// Range (status 200 instead of 206) gets whole-shard reads instead, one shard at a time: at most one shard is ever
// held, and reading another drops it first. Failures say which URL failed: NETWORK for an unreachable server or an
// HTTP error status (retry or fix the URL), BAD_MANIFEST for a manifest or tokenizer file that is not what the
// engine expects, INTEGRITY for a shard whose size differs from the manifest's.
import { EngineError, badManifest, integrityError } from '../errors';
import type { TokenizerFiles } from '../tokenizer/chat-tokenizer';
import type { TensorSource } from '../weights/tensor-source';
import { MANIFEST_FILE, parseManifest, parsePackageJson, type PackageManifest } from './manifest';
import { createPackageSource } from './package-source';

export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

export interface HttpPackageOptions {
  fetch?: FetchFunction; // default: globalThis.fetch
  base?: string; // what a relative prefix is resolved against; default: the page's or worker's location
}

/** Requests made so far, for tests and diagnostics. */
export interface HttpTraffic {
  rangeRequests: number;
  wholeShardReads: number;
}

export interface HttpPackage {
  url: string; // absolute prefix, ending with '/'
  manifest: PackageManifest;
  source: TensorSource;
  traffic: HttpTraffic;
  readTokenizerFiles(): Promise<TokenizerFiles>;
}

/** `prefix` as an absolute URL ending with '/', resolved against `base` (default: this page or worker). */
export function packageUrl(prefix: string, base?: string): string {
  const withSlash = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const origin = base ?? (globalThis as { location?: { href: string } }).location?.href;
  return origin === undefined ? new URL(withSlash).href : new URL(withSlash, origin).href;
}

export function networkError(url: string, problem: string, details: Record<string, unknown> = {}): EngineError {
  return new EngineError('NETWORK',
    `Could not read ${url}: ${problem}. Check the network connection and the model's URL, then retry.`, { url, ...details });
}

/** fetch that turns a failed request or an HTTP error status into NETWORK naming the URL. */
export async function fetchOk(fetchFn: FetchFunction, url: string, init?: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetchFn(url, init);
  } catch (cause) {
    throw networkError(url, `the request failed (${(cause as Error).message})`);
  }
  if (!response.ok) {
    throw networkError(url, `the server answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`, { status: response.status });
  }
  return response;
}

/** A JSON file of the package, parsed; unparsable text is BAD_MANIFEST naming the URL. */
async function fetchJson(fetchFn: FetchFunction, url: string): Promise<unknown> {
  return parsePackageJson(await (await fetchOk(fetchFn, url)).text(), url);
}

/** Serves (file, offset, length) reads with Range requests, or from the one whole shard held when Range is ignored. */
class ShardReader {
  private held: { file: string; bytes: Uint8Array } | null = null;
  private rangeIgnored = false;

  constructor(private readonly fetchFn: FetchFunction, private readonly prefix: string,
    private readonly manifest: PackageManifest, readonly traffic: HttpTraffic) {}

  async read(file: string, offset: number, length: number): Promise<Uint8Array> {
    if (this.held?.file !== file && this.rangeIgnored) await this.holdWholeShard(file, await this.fetchShard(file));
    if (this.held?.file === file) return this.held.bytes.subarray(offset, offset + length);
    const url = this.prefix + file;
    const response = await fetchOk(this.fetchFn, url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
    this.traffic.rangeRequests++;
    if (response.status !== 206) { // the server sent the whole file: keep it as the one shard held
      this.rangeIgnored = true;
      this.traffic.wholeShardReads++;
      await this.holdWholeShard(file, response);
      return this.held!.bytes.subarray(offset, offset + length);
    }
    const start = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
    if (start !== undefined && Number(start) !== offset) {
      throw networkError(url, `the server sent bytes from ${start} for a request from ${offset}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  private async fetchShard(file: string): Promise<Response> {
    this.held = null; // drop the shard held before the next one arrives
    this.traffic.wholeShardReads++;
    return fetchOk(this.fetchFn, this.prefix + file);
  }

  private async holdWholeShard(file: string, response: Response): Promise<void> {
    this.held = null;
    const bytes = new Uint8Array(await response.arrayBuffer());
    const expected = this.manifest.shards.find((shard) => shard.file === file)?.nbytes;
    if (bytes.length !== expected) throw integrityError(this.prefix + file, `${expected} bytes`, `${bytes.length} bytes`);
    this.held = { file, bytes };
  }
}

/** Reads and checks `<prefix>/manifest.json`; tensors are fetched when the source is asked for them. */
export async function openHttpPackage(prefix: string, options: HttpPackageOptions = {}): Promise<HttpPackage> {
  const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const url = packageUrl(prefix, options.base);
  const manifestUrl = url + MANIFEST_FILE;
  const manifest = parseManifest(await fetchJson(fetchFn, manifestUrl), manifestUrl);
  const traffic: HttpTraffic = { rangeRequests: 0, wholeShardReads: 0 };
  const reader = new ShardReader(fetchFn, url, manifest, traffic);
  const source = createPackageSource(manifest, (file, offset, length) => reader.read(file, offset, length), url);
  const readTokenizerFiles = async (): Promise<TokenizerFiles> => {
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
      if (!manifest.tokenizer.includes(file)) {
        throw badManifest(manifestUrl, 'tokenizer', `a list naming ${file}`, JSON.stringify(manifest.tokenizer));
      }
    }
    const [tokenizerJson, tokenizerConfig] = await Promise.all(['tokenizer.json', 'tokenizer_config.json'].map(async (file) => {
      const json = await fetchJson(fetchFn, url + file);
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw badManifest(url + file, '(root)', 'a JSON object', typeof json);
      return json as Record<string, unknown>;
    }));
    return { tokenizerJson, tokenizerConfig };
  };
  return { url, manifest, source, traffic, readTokenizerFiles };
}
