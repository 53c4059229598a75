// Opens a checkpoint folder in Hugging Face Hub layout from Node: `config.json`, then the shards named by
// `model.safetensors.index.json` (or, without an index, every `*.safetensors` but `golden.safetensors`). Only the
// headers are read up front (real checkpoints are tens of GB); each file's size is checked against its header so a
// truncated download fails here; tensor bytes are read on demand by `readF32`. The source is validated against
// `expectedTensors` before it is returned.
import { open, readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseModelConfig, type ModelConfig } from '../config';
import { badCheckpoint } from '../errors';
import { validateTensors } from './expected-tensors';
import { parseHeaderJson, readHeaderLength, type SafetensorsHeader } from './safetensors';
import { collectTensors, createTensorSource, type StoredTensor, type TensorSource } from './tensor-source';
import { readFileRange } from './read-range-node';

const INDEX_FILE = 'model.safetensors.index.json';
const GOLDEN_FILE = 'golden.safetensors';

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw badCheckpoint(path, what, 'no such file', 'Point at a checkpoint folder in Hugging Face Hub layout.');
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw badCheckpoint(path, what, `unparsable JSON (${(cause as Error).message})`);
  }
}

async function readConfig(dir: string): Promise<ModelConfig> {
  return parseModelConfig(await readJson(join(dir, 'config.json'), 'a JSON model configuration'));
}

/** The shard file names, in a stable order, and the index's claims (tensor -> shard) when there is an index. */
async function listShards(dir: string): Promise<{ shards: string[]; weightMap: Map<string, string> | null }> {
  const entries = await readdir(dir);
  if (entries.includes(INDEX_FILE)) {
    const index = await readJson(join(dir, INDEX_FILE), 'a JSON shard index');
    const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
    const valid =
      typeof weightMap === 'object' && weightMap !== null && Object.values(weightMap).every((v) => typeof v === 'string');
    if (!valid) throw badCheckpoint(INDEX_FILE, 'a "weight_map" object of tensor name -> shard file', JSON.stringify(weightMap));
    const map = new Map(Object.entries(weightMap as Record<string, string>));
    const shards = [...new Set(map.values())].sort();
    for (const shard of shards) {
      if (!entries.includes(shard)) {
        throw badCheckpoint(join(dir, shard), `the shard ${INDEX_FILE} names`, 'no such file', 'Download the missing shard.');
      }
    }
    return { shards, weightMap: map };
  }
  const shards = entries.filter((name) => name.endsWith('.safetensors') && name !== GOLDEN_FILE).sort();
  if (shards.length === 0) {
    throw badCheckpoint(dir, `${INDEX_FILE} or *.safetensors weight files`, 'neither');
  }
  return { shards, weightMap: null };
}

/** Reads just the header of one shard (two small reads) and checks the file's size against it. */
async function readShardHeader(path: string): Promise<SafetensorsHeader> {
  const fileName = basename(path);
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const prefix = new Uint8Array(8);
    await handle.read(prefix, 0, Math.min(8, size), 0);
    const headerLength = readHeaderLength(prefix, fileName, size);
    const headerBytes = new Uint8Array(headerLength);
    await handle.read(headerBytes, 0, headerLength, 8);
    return parseHeaderJson(headerBytes, fileName, size);
  } finally {
    await handle.close();
  }
}

/** Every tensor the index places in a shard must be in that shard's header. */
function checkIndex(weightMap: Map<string, string>, headers: SafetensorsHeader[]): void {
  const byFile = new Map(headers.map((header) => [header.fileName, header]));
  for (const [tensor, shard] of weightMap) {
    if (!byFile.get(shard)?.entries.has(tensor)) {
      throw badCheckpoint(`${shard}: tensor ${tensor}`, `the tensor ${INDEX_FILE} places in this shard`, 'no such tensor in its header');
    }
  }
}

function readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
  return readFileRange(path, offset, length, (done) =>
    badCheckpoint(path, `${length} bytes at offset ${offset}`, `end of file after ${done}`, 'The file changed since it was opened.'));
}

export async function openCheckpoint(dir: string): Promise<TensorSource> {
  const config = await readConfig(dir);
  const { shards, weightMap } = await listShards(dir);
  const headers = await Promise.all(shards.map((shard) => readShardHeader(join(dir, shard))));
  if (weightMap) checkIndex(weightMap, headers);
  const tensors: Map<string, StoredTensor> = collectTensors(headers);
  const source = createTensorSource(config, dir, tensors, (file, offset, length) => readRange(join(dir, file), offset, length));
  validateTensors(source);
  return source;
}
