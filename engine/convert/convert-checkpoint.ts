// Converts any TensorSource (a checkpoint, or a view of one such as an expert-reduced model) into a model package
// folder. Writes exactly the tensors the engine loads (expectedTensors: layers < numLayers, so no MTP layer; FP8
// block scales are consumed by the source's reads), each in the format storageFor(name, shape, plan) gives, in
// row blocks of at most ~16 MiB of f32 so memory stays bounded whatever the tensor's size. Everything is checked
// before a byte is written; the package is built in `OUT.tmp-<random>` beside OUT and renamed into place at the
// end, and the temp folder is removed on any failure and on SIGINT, so OUT is either the old state or complete.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expectedTensors, validateTensors } from '../weights/expected-tensors';
import { packMatrix, packedLayout } from '../weights/quant';
import type { TensorSource } from '../weights/tensor-source';
import { describePlan, storageFor, type WeightPlan } from '../weights/weight-plan';
import { MANIFEST_FILE, PACKAGE_FORMAT, PACKAGE_VERSION, matrixShape, packedBytes, parseManifest, type PackageManifest } from '../package/manifest';
import { PackageWriter, type TensorSink } from '../package/writer-node';
import { copyTokenizerFiles } from './source-files';
import { UsageError } from './usage-error';

/** f32 values packed per block by default: 16 MiB. */
const BLOCK_ELEMENTS = 4 * 1024 * 1024;

export interface ConvertProgress {
  tensor: string;
  tensorsDone: number;
  tensorsTotal: number;
  bytesDone: number; // packed bytes written
  bytesTotal: number;
}

export interface ConvertOptions {
  plan: WeightPlan;
  name: string;
  licence?: string | null;
  tokenizerDir?: string; // folder to copy tokenizer files from
  experts?: Record<string, unknown> | null; // recorded in the manifest as is
  force?: boolean; // replace an existing package (or empty folder) at OUT
  shardLimit?: number; // bytes per shard; MAX_SHARD_BYTES unless a test wants many shards
  blockElements?: number; // f32 values read and packed at a time (whole rows, at least one); tests use few
  onProgress?: (progress: ConvertProgress) => void;
}

/** OUT must not exist, or (with force) be an empty folder or a package. Returns whether it exists. */
export async function checkOutput(outDir: string, force: boolean): Promise<boolean> {
  const parent = dirname(outDir.replace(/[\\/]+$/, ''));
  if (!(await stat(parent).then((s) => s.isDirectory(), () => false))) {
    throw new UsageError(`${parent} (the folder --out goes in) does not exist; create it or choose another --out`);
  }
  const info = await stat(outDir).catch(() => null);
  if (!info) return false;
  if (!info.isDirectory()) throw new UsageError(`${outDir} exists and is not a folder; choose another --out`);
  const entries = await readdir(outDir);
  if (!force) throw new UsageError(`${outDir} already exists; pass --force to replace it or choose another --out`);
  if (entries.length > 0 && !entries.includes(MANIFEST_FILE)) {
    throw new UsageError(`${outDir} is neither empty nor a model package (no ${MANIFEST_FILE}); --force only replaces those`);
  }
  return true;
}

function bytesOf(words: Uint32Array): Uint8Array {
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

/** Packs one tensor block by block: each block's data words and scale words go where the whole layout has them. */
async function writeTensor(source: TensorSource, sink: TensorSink, blockElements: number, onBlock: (bytes: number) => void): Promise<void> {
  const { name, dtype, shape, group } = sink.tensor;
  const { rows, k } = matrixShape(shape);
  const whole = packedLayout(dtype, rows, k, group);
  const blockRows = Math.max(1, Math.floor(blockElements / k));
  let all: Float32Array | undefined; // only for sources without row reads
  for (let first = 0; first < rows; first += blockRows) {
    const count = Math.min(blockRows, rows - first);
    const values = source.readRowsF32
      ? await source.readRowsF32(name, first, count)
      : (all ??= await source.readF32(name)).subarray(first * k, (first + count) * k);
    const words = packMatrix(values, count, k, dtype, group);
    const part = packedLayout(dtype, count, k, group);
    await sink.write(first * whole.rowWords * 4, bytesOf(words.subarray(0, part.scaleOffset)));
    if (part.scaleRowWords > 0) {
      await sink.write((whole.scaleOffset + first * whole.scaleRowWords) * 4, bytesOf(words.subarray(part.scaleOffset)));
    }
    onBlock(words.byteLength);
  }
}

/** manifest.json text: indented, but one line per tensor and shard (a big MoE model has tens of thousands). */
function manifestText(manifest: PackageManifest): string {
  const { tensors, shards, ...head } = manifest;
  const rows = (items: readonly object[]) => items.map((item) => `  ${JSON.stringify(item)}`).join(',\n');
  const headText = JSON.stringify(head, null, 1).slice(0, -2); // without the closing "\n}"
  return `${headText},\n "tensors": [\n${rows(tensors)}\n ],\n "shards": [\n${rows(shards)}\n ]\n}\n`;
}

async function writePackage(source: TensorSource, dir: string, options: ConvertOptions): Promise<PackageManifest> {
  const expected = expectedTensors(source.config).map(({ name, shape }) => ({ name, shape, ...storageFor(name, shape, options.plan) }));
  const bytesTotal = expected.reduce((sum, t) => sum + packedBytes(t.dtype, t.shape, t.group), 0);
  const writer = new PackageWriter(dir, options.shardLimit);
  const progress: ConvertProgress = { tensor: '', tensorsDone: 0, tensorsTotal: expected.length, bytesDone: 0, bytesTotal };
  try {
    for (const { name, shape, dtype, group } of expected) {
      progress.tensor = name;
      const sink = await writer.beginTensor(name, dtype, shape, group);
      await writeTensor(source, sink, options.blockElements ?? BLOCK_ELEMENTS, (bytes) => {
        progress.bytesDone += bytes;
        options.onProgress?.({ ...progress });
      });
      progress.tensorsDone++;
    }
    const { tensors, shards } = await writer.finish();
    const manifest: PackageManifest = {
      format: PACKAGE_FORMAT,
      version: PACKAGE_VERSION,
      name: options.name,
      licence: options.licence ?? null,
      source: { description: source.description, family: source.config.family },
      config: source.config,
      quantisation: { plan: options.plan, description: describePlan(options.plan) },
      tokenizer: options.tokenizerDir ? await copyTokenizerFiles(options.tokenizerDir, dir) : [],
      experts: options.experts ?? null,
      tensors,
      shards,
    };
    parseManifest(JSON.parse(JSON.stringify(manifest)), join(dir, MANIFEST_FILE)); // what readers will check
    await writeFile(join(dir, MANIFEST_FILE), manifestText(manifest));
    return manifest;
  } finally {
    await writer.abort();
  }
}

/** Renames the finished temp folder to OUT; a replaced OUT is restored if the second rename fails. */
async function moveIntoPlace(temp: string, outDir: string, replacing: boolean): Promise<void> {
  if (!replacing) return rename(temp, outDir);
  const old = `${temp}.old`;
  await rename(outDir, old);
  try {
    await rename(temp, outDir);
  } catch (error) {
    await rename(old, outDir);
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}

/** Converts `source` into a package at `outDir` (see the header for the guarantees). */
export async function convertCheckpoint(source: TensorSource, outDir: string, options: ConvertOptions): Promise<PackageManifest> {
  validateTensors(source);
  const replacing = await checkOutput(outDir, options.force ?? false);
  const temp = `${outDir.replace(/[\\/]+$/, '')}.tmp-${randomBytes(6).toString('hex')}`;
  let swapping = false; // two renames; an interrupt there would strand OUT, so it waits for them
  const onSigint = () => {
    if (swapping) return;
    rmSync(temp, { recursive: true, force: true });
    process.stderr.write(`\nconvert: interrupted; removed ${temp}\n`);
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  try {
    await mkdir(temp);
    const manifest = await writePackage(source, temp, options);
    swapping = true;
    await moveIntoPlace(temp, outDir, replacing);
    return manifest;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
