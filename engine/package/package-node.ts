// Opens a model package folder from Node: parses manifest.json, checks each shard file's size against the manifest
// (a truncated copy fails here) and, with `verify`, its SHA-256 (INTEGRITY naming the shard), then serves tensors
// through createPackageSource with positional file reads.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { badManifest, integrityError } from '../errors';
import type { TensorSource } from '../weights/tensor-source';
import { MANIFEST_FILE, parseManifest, parsePackageJson, type PackageManifest } from './manifest';
import { createPackageSource } from './package-source';
import { readFileRange } from '../weights/read-range-node';

export interface OpenedPackage {
  manifest: PackageManifest;
  source: TensorSource;
}

async function readManifest(dir: string): Promise<PackageManifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw badManifest(path, '(file)', 'a package manifest', 'no such file');
  }
  return parseManifest(parsePackageJson(text, path), path);
}

/** Lowercase hex SHA-256 of a file, read in 4 MiB chunks. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function checkShards(dir: string, manifest: PackageManifest, verify: boolean): Promise<void> {
  for (const shard of manifest.shards) {
    const path = join(dir, shard.file);
    const size = await stat(path).then((s) => s.size, () => -1);
    if (size < 0) throw integrityError(path, `a shard of ${shard.nbytes} bytes`, 'no such file');
    if (size !== shard.nbytes) throw integrityError(path, `${shard.nbytes} bytes`, `${size} bytes`);
    if (verify) {
      const sha256 = await sha256OfFile(path);
      if (sha256 !== shard.sha256) throw integrityError(path, `SHA-256 ${shard.sha256}`, `SHA-256 ${sha256}`);
    }
  }
}

function readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
  return readFileRange(path, offset, length, (done) => integrityError(path, `${length} bytes at offset ${offset}`, `end of file after ${done}`));
}

/** Opens the package in `dir`; `verify` hashes every shard first (slow for big models, but catches corruption). */
export async function openPackage(dir: string, options: { verify?: boolean } = {}): Promise<OpenedPackage> {
  const manifest = await readManifest(dir);
  await checkShards(dir, manifest, options.verify ?? false);
  const source = createPackageSource(manifest, (file, offset, length) => readRange(join(dir, file), offset, length), dir);
  return { manifest, source };
}
