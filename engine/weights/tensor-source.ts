// How the engine gets weights, whatever holds them (files in Node, IndexedDB or fetch in the browser, a test): a
// `TensorSource` answers by logical name (the Hub's per-tensor names) and widens values to f32. This file also
// builds one from parsed safetensors headers plus a byte reader, so each storage only supplies `readBytes`.
// Invariants: FP8 `X.weight` [out, in] is dequantised with its sibling `X.weight_scale_inv`
// [ceil(out/128), ceil(in/128)] as W[i,j] = fp8(W[i,j]) × scale_inv[i/128, j/128] in f32 (not rounded to BF16, as
// the fixtures' reference does); scale tensors never appear as names; experts stored fused the transformers-5 way
// (`mlp.experts.gate_up_proj` [E, 2I, H], gate rows first; `mlp.experts.down_proj` [E, H, I]) appear under the
// per-expert names, as byte ranges of the fused tensor (each expert's slice is contiguous).
import type { ModelConfig } from '../config';
import { badCheckpoint } from '../errors';
import type { StorageDtype } from './quant';
import { DTYPE_BYTES, FLOAT_DTYPES, decodeToF32, type SafetensorsHeader } from './safetensors';

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** FP8 weights: their `weight_scale_inv` block-scale tensor, when the checkpoint has one. */
  blockScale?: { name: string; dtype: string; shape: number[] };
}

/** A tensor already in a GPU storage format (engine/weights/quant.ts), as packages hold them: uploaded as is. */
export interface PackedTensor {
  dtype: StorageDtype;
  shape: number[]; // logical, e.g. [N, K]
  group: number; // q8/q4 group size; 0 for f32/f16
  words: Uint32Array; // packedLayout(dtype, rows, K, group).words long
}

/** A stored packed tensor whose bytes come in pieces (TensorSource.streamPacked). Each piece's length and `at` are
 *  multiples of 4; a piece is valid only during the `sink` call. */
export interface PackedStream {
  dtype: PackedTensor['dtype'];
  group: number;
  shape: number[];
  bytes: number;
  read(sink: (bytes: Uint8Array, at: number) => void): Promise<void>;
}

export interface TensorSource {
  readonly config: ModelConfig;
  readonly description: string; // e.g. the checkpoint folder
  names(): string[]; // logical tensor names (scale tensors hidden)
  info(name: string): TensorInfo | undefined;
  /** Values widened to f32, FP8 multiplied by its 128x128 `weight_scale_inv` block scale in f32
   *  (W[i,j] = fp8(W[i,j]) * scale_inv[floor(i/128), floor(j/128)]). Missing => BAD_CHECKPOINT. */
  readF32(name: string): Promise<Float32Array>;
  /** Sources that store GPU-ready tensors (model packages) return them packed, to upload without re-encoding;
   *  undefined when this tensor is not stored that way. Checkpoints do not implement it. */
  readPacked?(name: string): Promise<PackedTensor | undefined>;
  /** Like readPacked, but hands the stored bytes over piece by piece (`sink(bytes, at)`, `at` the byte offset in
   *  the tensor's packed words) so a loader can copy them to the GPU without holding the whole tensor; undefined
   *  when this tensor cannot be streamed (then use readPacked). */
  streamPacked?(name: string): PackedStream | undefined;
  /** Rows [firstRow, firstRow + rows) of the tensor's [rows, K] view (K the last dim, leading dims flattened; a 1-D
   *  tensor is one row) as readF32 would give them, so a converter can stream a big tensor in bounded memory. */
  readRowsF32?(name: string, firstRow: number, rows: number): Promise<Float32Array>;
}

export const FP8_BLOCK = 128;
const SCALE_SUFFIX = '_scale_inv';

/** Shape of the block-scale tensor an FP8 weight of `shape` [out, in] needs. */
export function blockScaleShape(shape: readonly number[]): number[] {
  return shape.map((dim) => Math.ceil(dim / FP8_BLOCK));
}

/** Rows of a tensor's [rows, K] view: the product of all dims but the last (1 for a 1-D tensor). */
export function rowCount(shape: readonly number[]): number {
  return shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** In place: values[i, j] *= scaleInv[i/128, j/128] for a 2-D [rows, cols] weight. */
export function applyBlockScale(
  values: Float32Array,
  shape: readonly number[],
  scaleInv: Float32Array,
  scaleShape: readonly number[],
  subject: string,
): Float32Array {
  const expected = blockScaleShape(shape);
  if (shape.length !== 2 || !sameShape(scaleShape, expected)) {
    const wanted = shape.length === 2 ? `a block scale of shape ${formatShape(expected)}` : 'a 2-D FP8 weight';
    throw badCheckpoint(subject, wanted, `weight ${formatShape(shape)} with scale ${formatShape(scaleShape)}`);
  }
  const [rows, cols] = shape;
  const scaleCols = expected[1];
  for (let row = 0; row < rows; row++) {
    const scaleRow = Math.floor(row / FP8_BLOCK) * scaleCols;
    const base = row * cols;
    for (let col = 0; col < cols; col++) {
      values[base + col] *= scaleInv[scaleRow + Math.floor(col / FP8_BLOCK)];
    }
  }
  return values;
}

/** In place: the rows [firstRow, firstRow + rows) of an FP8 weight [out, in] times their 128x128 block scales. */
function applyBlockScaleRows(values: Float32Array, tensor: StoredTensor, firstRow: number, scaleInv: Float32Array): void {
  const cols = tensor.shape[1];
  const scaleCols = Math.ceil(cols / FP8_BLOCK);
  for (let r = 0; r < values.length / cols; r++) {
    const scaleRow = Math.floor((firstRow + r) / FP8_BLOCK) * scaleCols;
    for (let col = 0; col < cols; col++) values[r * cols + col] *= scaleInv[scaleRow + Math.floor(col / FP8_BLOCK)];
  }
}

/** Where one tensor's bytes lie: a byte range of one file. */
export interface StoredTensor {
  name: string;
  dtype: string;
  shape: number[];
  file: string;
  offset: number; // file offset of the first byte
  length: number; // bytes
  blockScale?: StoredTensor;
}

function addTensor(tensors: Map<string, StoredTensor>, tensor: StoredTensor): void {
  const previous = tensors.get(tensor.name);
  if (previous) {
    throw badCheckpoint(tensor.name, 'one tensor of this name', `copies in ${previous.file} and ${tensor.file}`);
  }
  tensors.set(tensor.name, tensor);
}

/** Per-expert views of a fused 3-D expert tensor: `rowParts` lists (name suffix, first row, rows) of each slice. */
function splitFusedExperts(
  fused: StoredTensor,
  prefix: string,
  rowParts: readonly [string, number, number][],
  tensors: Map<string, StoredTensor>,
): void {
  const [experts, rows, cols] = fused.shape;
  const elementBytes = DTYPE_BYTES[fused.dtype];
  const expertBytes = rows * cols * elementBytes;
  for (let expert = 0; expert < experts; expert++) {
    for (const [suffix, firstRow, partRows] of rowParts) {
      addTensor(tensors, {
        name: `${prefix}.${expert}.${suffix}`,
        dtype: fused.dtype,
        shape: [partRows, cols],
        file: fused.file,
        offset: fused.offset + expert * expertBytes + firstRow * cols * elementBytes,
        length: partRows * cols * elementBytes,
      });
    }
  }
}

const FUSED_GATE_UP = /^(.*\.mlp\.experts)\.gate_up_proj$/;
const FUSED_DOWN = /^(.*\.mlp\.experts)\.down_proj$/;

/** Returns true when `tensor` was a fused expert tensor (and its per-expert views were added). */
function addFusedExperts(tensor: StoredTensor, tensors: Map<string, StoredTensor>): boolean {
  const gateUp = FUSED_GATE_UP.exec(tensor.name);
  const down = FUSED_DOWN.exec(tensor.name);
  if (!gateUp && !down) return false;
  const [, rows] = tensor.shape;
  if (tensor.shape.length !== 3 || (gateUp && rows % 2 !== 0)) {
    const expected = gateUp ? 'a fused [E, 2I, H] expert tensor' : 'a fused [E, H, I] expert tensor';
    throw badCheckpoint(tensor.name, expected, `shape ${formatShape(tensor.shape)}`);
  }
  if (gateUp) {
    const half = rows / 2;
    const parts: [string, number, number][] = [
      ['gate_proj.weight', 0, half],
      ['up_proj.weight', half, half],
    ];
    splitFusedExperts(tensor, gateUp[1], parts, tensors);
  } else {
    splitFusedExperts(tensor, down![1], [['down_proj.weight', 0, rows]], tensors);
  }
  return true;
}

/** All tensors of a checkpoint's files, by logical name, with FP8 block scales attached to their weights. */
export function collectTensors(headers: readonly SafetensorsHeader[]): Map<string, StoredTensor> {
  const tensors = new Map<string, StoredTensor>();
  const scales: StoredTensor[] = [];
  for (const header of headers) {
    for (const entry of header.entries.values()) {
      const stored: StoredTensor = {
        name: entry.name,
        dtype: entry.dtype,
        shape: entry.shape,
        file: header.fileName,
        offset: header.dataStart + entry.begin,
        length: entry.end - entry.begin,
      };
      if (entry.name.endsWith(SCALE_SUFFIX)) scales.push(stored);
      else if (!addFusedExperts(stored, tensors)) addTensor(tensors, stored);
    }
  }
  for (const scale of scales) {
    const weight = tensors.get(scale.name.slice(0, -SCALE_SUFFIX.length));
    if (weight) weight.blockScale = scale;
  }
  return tensors;
}

/** Reads `length` bytes at file offset `offset` of `file` (a name the headers were parsed under). */
export type ByteReader = (file: string, offset: number, length: number) => Promise<Uint8Array>;

function publicInfo(tensor: StoredTensor): TensorInfo {
  const info: TensorInfo = { name: tensor.name, dtype: tensor.dtype, shape: [...tensor.shape] };
  const scale = tensor.blockScale;
  if (scale) info.blockScale = { name: scale.name, dtype: scale.dtype, shape: [...scale.shape] };
  return info;
}

/** Rows of a stored tensor (all of it by default), FP8 block scales applied to the rows read. */
async function readStoredF32(tensor: StoredTensor, readBytes: ByteReader, firstRow = 0, rows = rowCount(tensor.shape)): Promise<Float32Array> {
  if (!FLOAT_DTYPES.includes(tensor.dtype)) {
    throw badCheckpoint(tensor.name, `a float dtype (${FLOAT_DTYPES.join(', ')})`, `dtype ${tensor.dtype}`);
  }
  const totalRows = rowCount(tensor.shape);
  const rowBytes = tensor.length / totalRows;
  if (!(Number.isInteger(firstRow) && Number.isInteger(rows) && firstRow >= 0 && rows >= 0 && firstRow + rows <= totalRows)) {
    throw badCheckpoint(tensor.name, `rows within [0, ${totalRows})`, `rows ${firstRow}..${firstRow + rows}`);
  }
  const bytes = await readBytes(tensor.file, tensor.offset + firstRow * rowBytes, rows * rowBytes);
  const values = decodeToF32(tensor.dtype, bytes, tensor.name);
  if (tensor.dtype !== 'F8_E4M3') return values;
  const scale = tensor.blockScale;
  if (!scale) {
    const wanted = `a block scale of shape ${formatShape(blockScaleShape(tensor.shape))} for this FP8 weight`;
    throw badCheckpoint(`${tensor.name}${SCALE_SUFFIX}`, wanted, 'no such tensor in the checkpoint');
  }
  const scaleInv = await readStoredF32(scale, readBytes);
  if (firstRow === 0 && rows === totalRows) return applyBlockScale(values, tensor.shape, scaleInv, scale.shape, tensor.name);
  if (tensor.shape.length !== 2 || !sameShape(scale.shape, blockScaleShape(tensor.shape))) {
    throw badCheckpoint(tensor.name, `a 2-D FP8 weight with a block scale of shape ${formatShape(blockScaleShape(tensor.shape))}`,
      `weight ${formatShape(tensor.shape)} with scale ${formatShape(scale.shape)}`);
  }
  applyBlockScaleRows(values, tensor, firstRow, scaleInv);
  return values;
}

export function createTensorSource(
  config: ModelConfig,
  description: string,
  tensors: ReadonlyMap<string, StoredTensor>,
  readBytes: ByteReader,
): TensorSource {
  return {
    config,
    description,
    names: () => [...tensors.keys()],
    info: (name) => {
      const tensor = tensors.get(name);
      return tensor && publicInfo(tensor);
    },
    readF32: async (name) => {
      const tensor = tensors.get(name);
      if (!tensor) throw badCheckpoint(name, 'a tensor of this name', `no such tensor in ${description}`);
      return readStoredF32(tensor, readBytes);
    },
    readRowsF32: async (name, firstRow, rows) => {
      const tensor = tensors.get(name);
      if (!tensor) throw badCheckpoint(name, 'a tensor of this name', `no such tensor in ${description}`);
      return readStoredF32(tensor, readBytes, firstRow, rows);
    },
  };
}
