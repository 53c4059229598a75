// The model package's `manifest.json` (design.md "Model package"): what a package holds and where each tensor's
// packed words lie. `parseManifest` checks every field, so a reader (Node files, IndexedDB in the browser) can
// trust offsets and sizes; any problem is BAD_MANIFEST naming the field. Invariants checked here: shards are
// `shard-NNNNN.bin` of at most 64 MiB; a tensor starts at a 256-byte aligned offset and its nbytes is exactly
// `packedLayout(dtype, rows, K, group).words × 4`; a tensor lies inside its shard or, when it is bigger than a shard,
// starts at offset 0 of a fresh shard and continues at offset 0 of the next shards (the writer fills each but the
// last), so a reader takes min(left, shard.nbytes - offset) bytes from each shard in turn.
import type { ModelConfig } from '../config';
import { badManifest } from '../errors';
import { STORAGE_DTYPES, packedLayout, type StorageDtype } from '../weights/quant';
import type { WeightPlan } from '../weights/weight-plan';
import { checkModelConfig, expectArray, expectInt, expectObject, expectString, type Check } from './manifest-fields';

export const PACKAGE_FORMAT = 'deepseek-webgpu-package';
export const PACKAGE_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const MAX_SHARD_BYTES = 64 * 1024 * 1024;
export const TENSOR_ALIGNMENT = 256;

export interface PackageTensor {
  name: string; // the Hub's logical name
  dtype: StorageDtype;
  shape: number[]; // logical; rows = product of all but the last dim, K = the last
  shard: number; // index into `shards` of the shard holding the first byte
  offset: number; // byte offset in that shard, a multiple of 256
  nbytes: number; // packed words × 4
  group: number; // q8/q4 group size; 0 for f32/f16
}

export interface PackageShard {
  file: string; // shard-NNNNN.bin
  nbytes: number;
  sha256: string; // lowercase hex
}

export interface PackageManifest {
  format: typeof PACKAGE_FORMAT;
  version: typeof PACKAGE_VERSION;
  name: string;
  licence: string | null;
  source: { description: string; family: string };
  config: ModelConfig;
  quantisation: { plan: WeightPlan; description: string };
  tokenizer: string[]; // files copied beside the manifest
  experts: Record<string, unknown> | null; // expert reduction record, opaque here; null = all experts kept
  tensors: PackageTensor[];
  shards: PackageShard[];
}

export function shardFileName(index: number): string {
  return `shard-${String(index).padStart(5, '0')}.bin`;
}

/** Rows and K of a tensor's packed matrix view: a 1-D tensor is one row. */
export function matrixShape(shape: readonly number[]): { rows: number; k: number } {
  const k = shape.length === 0 ? 1 : shape[shape.length - 1];
  return { rows: shape.slice(0, -1).reduce((a, b) => a * b, 1), k };
}

export function packedBytes(dtype: StorageDtype, shape: readonly number[], group: number): number {
  const { rows, k } = matrixShape(shape);
  return packedLayout(dtype, rows, k, group).words * 4;
}

function parsePlan(check: Check, raw: unknown): WeightPlan {
  const obj = expectObject(check, 'quantisation.plan', raw);
  const dtypeOf = (field: string, optional: boolean): StorageDtype | undefined => {
    const value = obj[field];
    if (optional && value === undefined) return undefined;
    if (!STORAGE_DTYPES.includes(value as StorageDtype)) check.fail(`quantisation.plan.${field}`, `one of ${STORAGE_DTYPES.join(', ')}`, value);
    return value as StorageDtype;
  };
  const plan: WeightPlan = { dtype: dtypeOf('dtype', false)!, group: expectInt(check, 'quantisation.plan.group', obj.group, 0) };
  const embedding = dtypeOf('embedding', true);
  const lmHead = dtypeOf('lmHead', true);
  const routedExperts = dtypeOf('routedExperts', true);
  if (embedding) plan.embedding = embedding;
  if (lmHead) plan.lmHead = lmHead;
  if (routedExperts) plan.routedExperts = routedExperts;
  return plan;
}

function parseShards(check: Check, raw: unknown): PackageShard[] {
  return expectArray(check, 'shards', raw).map((item, i) => {
    const at = `shards[${i}]`;
    const obj = expectObject(check, at, item);
    const file = expectString(check, `${at}.file`, obj.file);
    if (file !== shardFileName(i)) check.fail(`${at}.file`, `"${shardFileName(i)}"`, file);
    const nbytes = expectInt(check, `${at}.nbytes`, obj.nbytes, 1);
    if (nbytes > MAX_SHARD_BYTES) check.fail(`${at}.nbytes`, `at most ${MAX_SHARD_BYTES}`, nbytes);
    const sha256 = expectString(check, `${at}.sha256`, obj.sha256);
    if (!/^[0-9a-f]{64}$/.test(sha256)) check.fail(`${at}.sha256`, '64 lowercase hex digits', sha256);
    return { file, nbytes, sha256 };
  });
}

function parseTensor(check: Check, raw: unknown, i: number, shards: PackageShard[]): PackageTensor {
  const at = `tensors[${i}]`;
  const obj = expectObject(check, at, raw);
  const name = expectString(check, `${at}.name`, obj.name);
  const dtype = obj.dtype as StorageDtype;
  if (!STORAGE_DTYPES.includes(dtype)) check.fail(`${at}.dtype`, `one of ${STORAGE_DTYPES.join(', ')}`, obj.dtype);
  const shape = expectArray(check, `${at}.shape`, obj.shape).map((d, j) => expectInt(check, `${at}.shape[${j}]`, d, 1));
  const group = expectInt(check, `${at}.group`, obj.group, 0);
  const quantised = dtype === 'q8' || dtype === 'q4';
  if (quantised ? group <= 0 || group % 8 !== 0 : group !== 0) {
    check.fail(`${at}.group`, quantised ? 'a positive multiple of 8' : '0 (f32/f16 have no groups)', group);
  }
  const shard = expectInt(check, `${at}.shard`, obj.shard, 0);
  if (shard >= shards.length) check.fail(`${at}.shard`, `a shard index below ${shards.length}`, shard);
  const offset = expectInt(check, `${at}.offset`, obj.offset, 0);
  if (offset % TENSOR_ALIGNMENT !== 0) check.fail(`${at}.offset`, `a multiple of ${TENSOR_ALIGNMENT}`, offset);
  const nbytes = expectInt(check, `${at}.nbytes`, obj.nbytes, 1);
  const wanted = packedBytes(dtype, shape, group);
  if (nbytes !== wanted) check.fail(`${at}.nbytes`, `${wanted} (${dtype} [${shape.join(', ')}] g${group})`, nbytes);
  checkPlacement(check, at, { shard, offset, nbytes }, shards);
  return { name, dtype, shape, shard, offset, nbytes, group };
}

/** The tensor lies in its shard, or starts at offset 0 of one and continues at offset 0 of the next ones. */
function checkPlacement(check: Check, at: string, t: { shard: number; offset: number; nbytes: number }, shards: PackageShard[]): void {
  if (t.offset + t.nbytes <= shards[t.shard].nbytes) return;
  if (t.offset !== 0) check.fail(`${at}.offset`, `0 for a tensor spanning shards, or an end within shard ${t.shard}`, t.offset);
  let left = t.nbytes;
  for (let s = t.shard; left > 0; s++) {
    if (s >= shards.length) check.fail(`${at}.nbytes`, 'bytes that the following shards hold', t.nbytes);
    left -= Math.min(left, shards[s].nbytes);
  }
}

/** Validates a parsed manifest.json; `where` names it in errors (a path or URL). */
/** Parses a package's JSON file (manifest, tokenizer files, models index); unparsable text is BAD_MANIFEST naming `where`. */
export function parsePackageJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw badManifest(where, '(file)', 'JSON', `unparsable text (${(cause as Error).message})`);
  }
}

export function parseManifest(json: unknown, where: string): PackageManifest {
  const check: Check = {
    fail: (field, expected, found) => {
      const text = found === undefined ? 'no such field' : JSON.stringify(found) ?? String(found);
      throw badManifest(where, field, expected, text.length > 80 ? `${text.slice(0, 77)}...` : text);
    },
  };
  const obj = expectObject(check, '(root)', json);
  if (obj.format !== PACKAGE_FORMAT) check.fail('format', `"${PACKAGE_FORMAT}"`, obj.format);
  if (obj.version !== PACKAGE_VERSION) check.fail('version', `${PACKAGE_VERSION} (this engine's package version)`, obj.version);
  const name = expectString(check, 'name', obj.name);
  if (obj.licence !== null && typeof obj.licence !== 'string') check.fail('licence', 'a string or null', obj.licence);
  const source = expectObject(check, 'source', obj.source);
  const config = checkModelConfig(check, obj.config);
  const quantisation = expectObject(check, 'quantisation', obj.quantisation);
  const tokenizer = expectArray(check, 'tokenizer', obj.tokenizer).map((f, i) => expectString(check, `tokenizer[${i}]`, f));
  if (obj.experts !== null) expectObject(check, 'experts', obj.experts);
  const shards = parseShards(check, obj.shards);
  const tensors = expectArray(check, 'tensors', obj.tensors).map((t, i) => parseTensor(check, t, i, shards));
  const seen = new Set<string>();
  tensors.forEach((t, i) => {
    if (seen.has(t.name)) check.fail(`tensors[${i}].name`, 'a name no other tensor has', t.name);
    seen.add(t.name);
  });
  return {
    format: PACKAGE_FORMAT,
    version: PACKAGE_VERSION,
    name,
    licence: (obj.licence as string | null) ?? null,
    source: { description: expectString(check, 'source.description', source.description), family: expectString(check, 'source.family', source.family) },
    config,
    quantisation: { plan: parsePlan(check, quantisation.plan), description: expectString(check, 'quantisation.description', quantisation.description) },
    tokenizer,
    experts: obj.experts as Record<string, unknown> | null,
    tensors,
    shards,
  };
}
