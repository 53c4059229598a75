// The non-weight files a converter carries over from a Hugging Face checkpoint folder: the tokenizer files the
// app's tokenizer loads (copied verbatim when present) and the licence (config.json's "license", else the model
// card's YAML front matter `license:`), recorded in the manifest.
import { copyFile, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Tokenizer files transformers' AutoTokenizer may read, in the order they are listed in the manifest. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'tokenizer.model',
  'vocab.json',
  'merges.txt',
] as const;

/** Copies the tokenizer files `fromDir` has into `toDir`; returns their names. */
export async function copyTokenizerFiles(fromDir: string, toDir: string): Promise<string[]> {
  const present = new Set(await readdir(fromDir));
  const copied: string[] = [];
  for (const file of TOKENIZER_FILES) {
    if (!present.has(file)) continue;
    await copyFile(join(fromDir, file), join(toDir, file));
    copied.push(file);
  }
  return copied;
}

/** The checkpoint's licence id when it states one, else null. */
export async function findLicence(dir: string): Promise<string | null> {
  const config = await readFile(join(dir, 'config.json'), 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>, () => null);
  if (typeof config?.license === 'string' && config.license) return config.license;
  const card = await readFile(join(dir, 'README.md'), 'utf8').catch(() => '');
  const frontMatter = /^---\r?\n([\s\S]*?)\r?\n---/.exec(card);
  const line = frontMatter && /^license:\s*["']?([^"'\r\n]+?)["']?\s*$/m.exec(frontMatter[1]);
  return line ? line[1] : null;
}
