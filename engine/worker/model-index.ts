// The list of models the app offers without a download: `/models/index.json`, written next to the bundled
// packages by scripts/default-model (entries {name, path, label, family, quantisation, bytes, generatorVersion},
// `path` relative to the index). Each entry becomes a ModelEntry whose `url` is absolute, so the worker can open
// the package wherever the index was served from. A missing or malformed index is NETWORK / BAD_MANIFEST.
import { badManifest } from '../errors';
import { parsePackageJson } from '../package/manifest';
import { fetchOk, type FetchFunction } from '../package/package-http';
import type { ModelEntry } from './protocol';

export const DEFAULT_MODEL_INDEX = '/models/index.json';

/** The index URL made absolute against `base` (the page's or worker's location when omitted). */
export function modelIndexUrl(indexUrl = DEFAULT_MODEL_INDEX, base?: string): string {
  const origin = base ?? (globalThis as { location?: { href: string } }).location?.href;
  return origin === undefined ? new URL(indexUrl).href : new URL(indexUrl, origin).href;
}

function text(url: string, entry: Record<string, unknown>, i: number, name: string): string {
  const value = entry[name];
  if (typeof value !== 'string') throw badManifest(url, `[${i}].${name}`, 'a string', JSON.stringify(value) ?? 'no such field');
  return value;
}

function count(url: string, entry: Record<string, unknown>, i: number, name: string): number {
  const value = entry[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw badManifest(url, `[${i}].${name}`, 'a byte count', JSON.stringify(value) ?? 'no such field');
  }
  return value;
}

/** Parses index.json's entries into ModelEntry[] with absolute package URLs. */
export function parseModelIndex(json: unknown, url: string): ModelEntry[] {
  if (!Array.isArray(json)) throw badManifest(url, '(root)', 'an array of bundled models', typeof json);
  return json.map((raw, i) => {
    if (typeof raw !== 'object' || raw === null) throw badManifest(url, `[${i}]`, 'an object', JSON.stringify(raw));
    const entry = raw as Record<string, unknown>;
    const path = text(url, entry, i, 'path');
    return {
      id: path.replace(/\/+$/, '').split('/').pop() || path,
      name: text(url, entry, i, 'name'),
      url: new URL(path.endsWith('/') ? path : `${path}/`, url).href,
      label: text(url, entry, i, 'label'),
      family: text(url, entry, i, 'family'),
      quantisation: text(url, entry, i, 'quantisation'),
      bytes: count(url, entry, i, 'bytes'),
      bundled: true,
    };
  });
}

export async function listModels(indexUrl?: string, options: { fetch?: FetchFunction; base?: string } = {}): Promise<ModelEntry[]> {
  const url = modelIndexUrl(indexUrl, options.base);
  const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  return parseModelIndex(parsePackageJson(await (await fetchOk(fetchFn, url)).text(), url), url);
}
