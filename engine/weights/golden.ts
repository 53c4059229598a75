// Reads a fixture's `golden.safetensors` (Node): for each test sequence `seqN`, the prompt ids [T], the reference
// logits at every prompt position [T, V], the ids fed one at a time afterwards [D] and the logits after each [D, V];
// V3.2 fixtures add the same logits with the indexer selecting every key (`*_dense`). Sequences come back sorted by
// N numerically (seq2 before seq10); every shape is checked against the ids so a test never indexes past the end.
import { readFileSync } from 'node:fs';
import { badCheckpoint } from '../errors';
import { decodeToF32, decodeToI32, entryBytes, parseSafetensors, type SafetensorsHeader } from './safetensors';

export interface GoldenSequence {
  name: string; // "seqN"
  inputIds: Int32Array; // [T]
  prefillLogits: Float32Array; // [T, V]
  decodeIds: Int32Array; // [D]
  decodeLogits: Float32Array; // [D, V]
  prefillLogitsDense?: Float32Array; // [T, V], V3.2 only
  decodeLogitsDense?: Float32Array; // [D, V], V3.2 only
  vocab: number; // V
}

export interface Golden {
  sequences: GoldenSequence[];
}

const KEY = /^(seq(\d+))\.(.+)$/;

class GoldenFile {
  constructor(
    readonly path: string,
    readonly bytes: Uint8Array,
    readonly header: SafetensorsHeader,
  ) {}

  private entry(key: string, rank: number, rows?: number) {
    const entry = this.header.entries.get(key);
    if (!entry) throw badCheckpoint(`${this.path}: ${key}`, 'a tensor', 'no such tensor');
    const shapeOk = entry.shape.length === rank && (rows === undefined || entry.shape[0] === rows);
    if (!shapeOk) {
      const wanted = rank === 1 ? 'a 1-D id list' : `a [${rows}, V] logits matrix`;
      throw badCheckpoint(`${this.path}: ${key}`, wanted, `shape [${entry.shape.join(', ')}]`);
    }
    return entry;
  }

  ids(key: string): Int32Array {
    const entry = this.entry(key, 1);
    return decodeToI32(entry.dtype, entryBytes(this.bytes, this.header, entry), `${this.path}: ${key}`);
  }

  logits(key: string, rows: number, vocab?: number): { values: Float32Array; vocab: number } {
    const entry = this.entry(key, 2, rows);
    if (vocab !== undefined && entry.shape[1] !== vocab) {
      throw badCheckpoint(`${this.path}: ${key}`, `${vocab} columns (the vocabulary)`, `shape [${entry.shape.join(', ')}]`);
    }
    const values = decodeToF32(entry.dtype, entryBytes(this.bytes, this.header, entry), `${this.path}: ${key}`);
    return { values, vocab: entry.shape[1] };
  }

  optionalLogits(key: string, rows: number, vocab: number): Float32Array | undefined {
    return this.header.entries.has(key) ? this.logits(key, rows, vocab).values : undefined;
  }
}

function readSequence(file: GoldenFile, name: string): GoldenSequence {
  const inputIds = file.ids(`${name}.input_ids`);
  const decodeIds = file.ids(`${name}.decode_ids`);
  const prefill = file.logits(`${name}.prefill_logits`, inputIds.length);
  const vocab = prefill.vocab;
  const sequence: GoldenSequence = {
    name,
    inputIds,
    prefillLogits: prefill.values,
    decodeIds,
    decodeLogits: file.logits(`${name}.decode_logits`, decodeIds.length, vocab).values,
    vocab,
  };
  const prefillDense = file.optionalLogits(`${name}.prefill_logits_dense`, inputIds.length, vocab);
  const decodeDense = file.optionalLogits(`${name}.decode_logits_dense`, decodeIds.length, vocab);
  if (prefillDense) sequence.prefillLogitsDense = prefillDense;
  if (decodeDense) sequence.decodeLogitsDense = decodeDense;
  return sequence;
}

/** Synchronous: goldens are small (hundreds of KB) and are read once per test file. */
export function readGolden(path: string): Golden {
  const bytes = new Uint8Array(readFileSync(path));
  const file = new GoldenFile(path, bytes, parseSafetensors(bytes, path));
  const numbers = new Map<string, number>();
  for (const key of file.header.entries.keys()) {
    const match = KEY.exec(key);
    if (match) numbers.set(match[1], Number(match[2]));
  }
  if (numbers.size === 0) throw badCheckpoint(path, 'seqN.* golden tensors', 'none');
  const names = [...numbers.keys()].sort((a, b) => numbers.get(a)! - numbers.get(b)!);
  return { sequences: names.map((name) => readSequence(file, name)) };
}
