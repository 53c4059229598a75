// The safetensors container, read from plain Uint8Arrays so the browser and Node share it: an 8-byte little-endian
// header length N, N bytes of JSON (`name -> {dtype, shape, data_offsets}` plus optional `__metadata__`), then the
// data region, which offsets index from its start. Parsing checks every entry (dtype known, shape of non-negative
// integers, offsets inside the data region, byte length = product(shape) × dtype size) and that the file is exactly
// as long as the header says, so a truncated download fails at open with the tensor and sizes named. The decoders
// widen BF16 / F16 / F32 / F8_E4M3FN to Float32Array (little-endian data on a little-endian host, as on every
// platform WebGPU runs on).
import { badCheckpoint } from '../errors';

/** Bytes per element of every dtype the format defines with a whole-byte size. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** Dtypes `decodeToF32` widens; weights in any other dtype are rejected. */
export const FLOAT_DTYPES: readonly string[] = ['F32', 'BF16', 'F16', 'F8_E4M3'];

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range inside the data region (add `dataStart` for a file offset). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  fileName: string;
  /** File offset of the data region: 8 + header length. */
  dataStart: number;
  /** dataStart + the largest end offset: the size the file must have. */
  expectedFileSize: number;
  metadata: Record<string, string>;
  entries: Map<string, SafetensorsEntry>;
}

/** Real headers are a few MB at most; a larger length means the prefix is not a safetensors length. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

/** Reads and checks the 8-byte length prefix; returns the JSON header's byte length. */
export function readHeaderLength(prefix: Uint8Array, fileName: string, fileSize: number): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw badCheckpoint(fileName, 'at least 8 bytes (the header length)', `${fileSize} bytes`, 'The file is truncated: download it again.');
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const length = Number(view.getBigUint64(0, true));
  if (length > MAX_HEADER_BYTES) {
    throw badCheckpoint(fileName, `a header length under ${MAX_HEADER_BYTES} bytes`, `${length}`, 'This is not a safetensors file.');
  }
  if (8 + length > fileSize) {
    throw badCheckpoint(
      fileName,
      `at least ${8 + length} bytes (8 + a ${length}-byte header)`,
      `${fileSize} bytes`,
      'The file is truncated: download it again.',
    );
  }
  return length;
}

function parseEntry(fileName: string, name: string, value: unknown): SafetensorsEntry {
  const subject = `${fileName}: tensor ${name}`;
  if (typeof value !== 'object' || value === null) {
    throw badCheckpoint(subject, 'an object with dtype, shape and data_offsets', JSON.stringify(value));
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string' || DTYPE_BYTES[dtype] === undefined) {
    throw badCheckpoint(subject, `a dtype among ${Object.keys(DTYPE_BYTES).join(', ')}`, `dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((dim) => Number.isInteger(dim) && dim >= 0)) {
    throw badCheckpoint(subject, 'a shape of non-negative integers', `shape ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((offset) => Number.isSafeInteger(offset) && offset >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw badCheckpoint(subject, 'data_offsets [begin, end] with 0 <= begin <= end', `data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  const nbytes = elementCount(shape) * DTYPE_BYTES[dtype];
  if (end - begin !== nbytes) {
    throw badCheckpoint(
      subject,
      `${nbytes} bytes (${dtype} [${shape.join(', ')}])`,
      `data_offsets [${begin}, ${end}] (${end - begin} bytes)`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function parseMetadata(fileName: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  const valid =
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
  if (!valid) throw badCheckpoint(`${fileName}: __metadata__`, 'an object of strings', JSON.stringify(value));
  return value as Record<string, string>;
}

/**
 * Parses the JSON header (the N bytes after the length prefix) and checks it against the file size.
 * Pass `fileSize` = -1 to skip the size checks (a header fetched before the file's size is known).
 */
export function parseHeaderJson(headerBytes: Uint8Array, fileName: string, fileSize: number): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(headerBytes));
  } catch (cause) {
    throw badCheckpoint(fileName, 'a JSON header', `unparsable JSON (${(cause as Error).message})`, 'The file is damaged: download it again.');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw badCheckpoint(fileName, 'a JSON object header', JSON.stringify(json).slice(0, 60));
  }
  const dataStart = 8 + headerBytes.length;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  let last: SafetensorsEntry | undefined;
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(fileName, value);
      continue;
    }
    // Offsets are checked against the data region below, where a truncated file gets its own message.
    const entry = parseEntry(fileName, name, value);
    entries.set(name, entry);
    if (!last || entry.end > last.end) last = entry;
  }
  const expectedFileSize = dataStart + (last?.end ?? 0);
  if (fileSize >= 0 && fileSize < expectedFileSize && last) {
    throw badCheckpoint(
      fileName,
      `${expectedFileSize} bytes (header says tensor ${last.name} ends at ${expectedFileSize})`,
      `${fileSize} bytes`,
      'The file is truncated: download it again.',
    );
  }
  if (fileSize >= 0 && fileSize > expectedFileSize) {
    throw badCheckpoint(
      fileName,
      `${expectedFileSize} bytes (the header's tensors end there)`,
      `${fileSize} bytes`,
      'The file has trailing bytes no tensor covers: it is damaged or not this checkpoint; download it again.',
    );
  }
  return { fileName, dataStart, expectedFileSize, metadata, entries };
}

/** Parses a whole file held in memory (small files: goldens, tests). */
export function parseSafetensors(bytes: Uint8Array, fileName: string): SafetensorsHeader {
  const length = readHeaderLength(bytes, fileName, bytes.length);
  return parseHeaderJson(bytes.subarray(8, 8 + length), fileName, bytes.length);
}

/** The bytes of one entry of a file held in memory. */
export function entryBytes(bytes: Uint8Array, header: SafetensorsHeader, entry: SafetensorsEntry): Uint8Array {
  return bytes.subarray(header.dataStart + entry.begin, header.dataStart + entry.end);
}

// ---- dtype decoding ----------------------------------------------------------------------------------------------

/** Copies to a fresh buffer when `bytes` does not start on an element boundary (typed arrays need alignment). */
function aligned(bytes: Uint8Array, elementBytes: number): ArrayBuffer {
  if (bytes.byteOffset % elementBytes === 0 && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  return bytes.slice().buffer;
}

function typedView<T>(bytes: Uint8Array, elementBytes: number, make: (buffer: ArrayBuffer, offset: number, length: number) => T): T {
  const buffer = aligned(bytes, elementBytes);
  const offset = buffer === bytes.buffer ? bytes.byteOffset : 0;
  return make(buffer, offset, bytes.length / elementBytes);
}

/** BF16 is the top half of an f32: shift the 16 bits up. */
export function bf16ToF32(bytes: Uint8Array): Float32Array {
  const halves = typedView(bytes, 2, (b, o, n) => new Uint16Array(b, o, n));
  const bits = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
  return new Float32Array(bits.buffer);
}

const F16_SUBNORMAL_UNIT = 2 ** -24;

/** IEEE half to float: normals by re-biasing the exponent (15 -> 127), subnormals m × 2^-24, inf/NaN kept. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * F16_SUBNORMAL_UNIT;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

export function f16ToF32(bytes: Uint8Array): Float32Array {
  const halves = typedView(bytes, 2, (b, o, n) => new Uint16Array(b, o, n));
  const values = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) values[i] = f16BitsToF32(halves[i]);
  return values;
}

export function f32Copy(bytes: Uint8Array): Float32Array {
  return new Float32Array(typedView(bytes, 4, (b, o, n) => new Float32Array(b, o, n)));
}

/** E4M3FN: sign, 4 exponent bits (bias 7), 3 mantissa bits; exponent 0 is subnormal m/8 × 2^-6; S.1111.111 is NaN;
 *  no infinities (S.1111.110 = ±448 is the largest finite value). */
function e4m3fnValue(byte: number): number {
  const sign = byte & 0x80 ? -1 : 1;
  const exponent = (byte >> 3) & 0x0f;
  const mantissa = byte & 0x07;
  if (exponent === 0x0f && mantissa === 0x07) return NaN;
  if (exponent === 0) return sign * (mantissa / 8) * 2 ** -6;
  return sign * 2 ** (exponent - 7) * (1 + mantissa / 8);
}

/** Every E4M3FN byte's value, indexed by the byte. */
export const FP8_E4M3_TABLE: Float32Array = Float32Array.from({ length: 256 }, (_, byte) => e4m3fnValue(byte));

export function fp8E4m3ToF32(bytes: Uint8Array): Float32Array {
  const values = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) values[i] = FP8_E4M3_TABLE[bytes[i]];
  return values;
}

/** Widens a float tensor's bytes to f32 (FP8 without its block scale). `subject` names it in the error. */
export function decodeToF32(dtype: string, bytes: Uint8Array, subject: string): Float32Array {
  switch (dtype) {
    case 'F32':
      return f32Copy(bytes);
    case 'BF16':
      return bf16ToF32(bytes);
    case 'F16':
      return f16ToF32(bytes);
    case 'F8_E4M3':
      return fp8E4m3ToF32(bytes);
    default:
      throw badCheckpoint(subject, `a float dtype (${FLOAT_DTYPES.join(', ')})`, `dtype ${dtype}`);
  }
}

/** Integer tensors (token ids) as Int32Array; I64 values must fit in 32 bits. */
export function decodeToI32(dtype: string, bytes: Uint8Array, subject: string): Int32Array {
  if (dtype === 'I32') return new Int32Array(typedView(bytes, 4, (b, o, n) => new Int32Array(b, o, n)));
  if (dtype === 'I64') {
    const wide = typedView(bytes, 8, (b, o, n) => new BigInt64Array(b, o, n));
    const ids = new Int32Array(wide.length);
    for (let i = 0; i < wide.length; i++) {
      const value = Number(wide[i]);
      if (value !== (value | 0)) throw badCheckpoint(subject, 'values that fit in 32 bits', `${wide[i]} at index ${i}`);
      ids[i] = value;
    }
    return ids;
  }
  throw badCheckpoint(subject, 'an integer dtype (I32 or I64)', `dtype ${dtype}`);
}
