// A small safetensors writer for tests that need a damaged or re-laid-out checkpoint: tensors are written in the
// order given, back to back, after a JSON header padded with spaces to a multiple of 8 bytes (as the reference
// writer does). `readTensors` is the inverse, so a test can load a fixture file, change one tensor and write it back.
import { readFile, writeFile, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryBytes, parseSafetensors } from '../../engine/weights/safetensors';

export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export function writeSafetensors(tensors: Map<string, RawTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, tensor] of tensors) {
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.bytes.length] };
    offset += tensor.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const file = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  file.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const tensor of tensors.values()) {
    file.set(tensor.bytes, position);
    position += tensor.bytes.length;
  }
  return file;
}

/** Every tensor of a safetensors file, in header order, with copies of their bytes. */
export async function readTensors(path: string): Promise<Map<string, RawTensor>> {
  const bytes = new Uint8Array(await readFile(path));
  const header = parseSafetensors(bytes, path);
  const tensors = new Map<string, RawTensor>();
  for (const entry of header.entries.values()) {
    tensors.set(entry.name, { dtype: entry.dtype, shape: entry.shape, bytes: entryBytes(bytes, header, entry).slice() });
  }
  return tensors;
}

/** A writable copy of a checkpoint folder under the OS temp dir (fixtures are read-only, so files are rewritten
 *  rather than copied with their mode). */
export async function copyToTemp(dir: string): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'ckpt-'));
  for (const name of await readdir(dir)) {
    await writeFile(join(copy, name), await readFile(join(dir, name)));
  }
  return copy;
}

/** Rewrites one file of a checkpoint copy after `edit` changes its tensors. */
export async function rewriteTensors(path: string, edit: (tensors: Map<string, RawTensor>) => void): Promise<void> {
  const tensors = await readTensors(path);
  edit(tensors);
  await writeFile(path, writeSafetensors(tensors, { format: 'pt' }));
}
