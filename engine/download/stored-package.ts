// A stored model package opened for loading: the manifest and tokenizer files from IndexedDB, and a TensorSource
// whose reads gather a tensor's bytes from the shard's stored chunks (engine/package/package-source.ts asks for
// (file, offset, length) pieces). Only the chunks a piece overlaps are read, a few at a time; the streaming read
// hands each chunk's share to the loader, which copies it to the GPU, so loading holds a few chunks, not a tensor. A missing chunk or file is INTEGRITY: the stored copy
// is damaged, so the message says to delete and download it again.
import { EngineError } from '../errors';
import { parseManifest, type PackageManifest } from '../package/manifest';
import { createPackageSource } from '../package/package-source';
import { parsePackageJson } from '../package/manifest';
import type { TokenizerFiles } from '../tokenizer/chat-tokenizer';
import type { ModelPackage } from '../worker/model-loader';
import type { ModelStore, StoredModelRecord } from './model-store';

const CHUNKS_PER_READ = 4; // IndexedDB reads in one getMany: at most this many chunks held besides the tensor

function damaged(record: StoredModelRecord, what: string): EngineError {
  return new EngineError('INTEGRITY',
    `The stored copy of ${record.entry.name} has lost ${what}. Delete the model from the browser's storage and download it again.`,
    { model: record.entry.id, missing: what });
}

/** Hands the bytes at [offset, offset + length) of a stored shard to `sink`, one chunk's share at a time (`at`:
 *  where the piece starts in the range), reading CHUNKS_PER_READ chunks per IndexedDB request. */
async function streamStored(store: ModelStore, record: StoredModelRecord, file: string, offset: number, length: number,
  sink: (bytes: Uint8Array, at: number) => void): Promise<void> {
  const size = record.chunkBytes;
  const first = Math.floor(offset / size);
  const last = Math.floor((offset + length - 1) / size);
  for (let from = first; from <= last; from += CHUNKS_PER_READ) {
    const indices = Array.from({ length: Math.min(CHUNKS_PER_READ, last - from + 1) }, (_, i) => from + i);
    const chunks = await store.chunks(record.entry.id, file, indices);
    chunks.forEach((chunk, i) => {
      const index = indices[i];
      if (!chunk) throw damaged(record, `chunk ${index} of ${file}`);
      const chunkStart = index * size;
      const start = Math.max(offset, chunkStart);
      const end = Math.min(offset + length, chunkStart + chunk.length);
      if (end > start) sink(chunk.subarray(start - chunkStart, end - chunkStart), start - offset);
    });
  }
}

/** Reads `length` bytes at `offset` of a stored shard into a new array. */
async function readStored(store: ModelStore, record: StoredModelRecord, file: string, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await streamStored(store, record, file, offset, length, (bytes, at) => out.set(bytes, at));
  return out;
}

export async function openStoredPackage(store: ModelStore, record: StoredModelRecord): Promise<ModelPackage> {
  const id = record.entry.id;
  const where = `${record.entry.name} (stored)`;
  const json = await store.manifest(id);
  if (json === undefined) throw damaged(record, 'its manifest');
  const manifest: PackageManifest = parseManifest(json, where);
  const source = createPackageSource(manifest, (file, offset, length) => readStored(store, record, file, offset, length), where,
    record.chunkBytes % 4 === 0 ? (file, offset, length, sink) => streamStored(store, record, file, offset, length, sink) : undefined);
  const readJson = async (name: string): Promise<Record<string, unknown>> => {
    const text = await store.file(id, name);
    if (text === undefined) throw damaged(record, name);
    const value = parsePackageJson(text, `${where} ${name}`);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw damaged(record, `${name} as a JSON object`);
    return value as Record<string, unknown>;
  };
  return {
    manifest,
    source,
    readTokenizerFiles: async (): Promise<TokenizerFiles> => ({
      tokenizerJson: await readJson('tokenizer.json'),
      tokenizerConfig: await readJson('tokenizer_config.json'),
    }),
  };
}
