// The safetensors header parser (valid and damaged headers) and the dtype decoders (FP8 E4M3FN table, BF16, F16).
import { describe, expect, it } from 'vitest';
import {
  FP8_E4M3_TABLE,
  bf16ToF32,
  decodeToF32,
  decodeToI32,
  entryBytes,
  f16ToF32,
  parseSafetensors,
} from '../../engine/weights/safetensors';
import { writeSafetensors, type RawTensor } from '../support/safetensors-writer';

function u16Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Uint16Array(values).buffer);
}

function parseError(bytes: Uint8Array, fileName = 'model.safetensors'): { code: string; message: string } {
  try {
    parseSafetensors(bytes, fileName);
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('parseSafetensors accepted the file');
}

/** A file whose JSON header is given verbatim, followed by `dataBytes` zero bytes. */
function rawFile(header: unknown, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const file = new Uint8Array(8 + json.length + dataBytes);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(json, 8);
  return file;
}

describe('FP8 E4M3FN decode table', () => {
  it('has the documented spot values', () => {
    expect(FP8_E4M3_TABLE[0x7e]).toBe(448);
    expect(FP8_E4M3_TABLE[0xfe]).toBe(-448);
    expect(FP8_E4M3_TABLE[0x01]).toBe(2 ** -9); // smallest subnormal: 1/8 × 2^-6
    expect(FP8_E4M3_TABLE[0x07]).toBe(7 * 2 ** -9); // largest subnormal
    expect(FP8_E4M3_TABLE[0x08]).toBe(2 ** -6); // smallest normal
    expect(FP8_E4M3_TABLE[0x38]).toBe(1);
    expect(FP8_E4M3_TABLE[0x3c]).toBe(1.5);
    expect(FP8_E4M3_TABLE[0xc0]).toBe(-2);
    expect(FP8_E4M3_TABLE[0x00]).toBe(0);
    expect(Object.is(FP8_E4M3_TABLE[0x80], -0)).toBe(true);
    expect(FP8_E4M3_TABLE[0x7f]).toBeNaN();
    expect(FP8_E4M3_TABLE[0xff]).toBeNaN();
  });

  it('has exactly two NaNs, no infinities, and is monotonic over the positive codes', () => {
    const values = [...FP8_E4M3_TABLE];
    expect(values.filter(Number.isNaN)).toHaveLength(2);
    expect(values.some((v) => v === Infinity || v === -Infinity)).toBe(false);
    for (let code = 1; code < 0x7f; code++) expect(values[code]).toBeGreaterThan(values[code - 1]);
    for (let code = 0; code < 0x7f; code++) expect(values[code | 0x80]).toBe(-values[code]);
  });
});

describe('BF16 and F16 widening', () => {
  it('widens BF16 by shifting into the top half of an f32', () => {
    const values = bf16ToF32(u16Bytes([0x3f80, 0xc020, 0x0001, 0x7f80, 0xff80, 0x7fc0, 0x4049]));
    expect([...values.slice(0, 5)]).toEqual([1, -2.5, 2 ** -133, Infinity, -Infinity]);
    expect(values[5]).toBeNaN();
    expect(values[6]).toBeCloseTo(3.140625, 7);
  });

  it('widens F16 including subnormals, the largest normal, infinities, NaN and -0', () => {
    const codes = [0x3c00, 0xc000, 0x7bff, 0x0400, 0x0001, 0x03ff, 0x8001, 0x7c00, 0xfc00, 0x3555];
    const values = f16ToF32(u16Bytes([...codes, 0x7e00, 0x8000]));
    expect([...values.slice(0, codes.length)]).toEqual([
      1,
      -2,
      65504,
      2 ** -14,
      2 ** -24,
      1023 * 2 ** -24,
      -(2 ** -24),
      Infinity,
      -Infinity,
      Math.fround(0.333251953125),
    ]);
    expect(values[codes.length]).toBeNaN();
    expect(Object.is(values[codes.length + 1], -0)).toBe(true);
  });

  it('decodes bytes that do not start on an element boundary', () => {
    const padded = new Uint8Array(9);
    padded.set(new Uint8Array(new Float32Array([1.5, -3]).buffer), 1);
    expect([...decodeToF32('F32', padded.subarray(1), 'x')]).toEqual([1.5, -3]);
    expect([...decodeToF32('BF16', padded.subarray(1, 5), 'x')]).toEqual([0, 1.5]);
  });

  it('reads I64 token ids into an Int32Array', () => {
    const ids = decodeToI32('I64', new Uint8Array(new BigInt64Array([3n, 100001n]).buffer), 'ids');
    expect([...ids]).toEqual([3, 100001]);
  });
});

describe('parseSafetensors', () => {
  const tensors = new Map<string, RawTensor>([
    ['a.weight', { dtype: 'BF16', shape: [2, 3], bytes: u16Bytes([0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0, 0x40c0]) }],
    ['b.bias', { dtype: 'F32', shape: [2], bytes: new Uint8Array(new Float32Array([0.5, -0.25]).buffer) }],
    ['c.empty', { dtype: 'F32', shape: [0, 4], bytes: new Uint8Array(0) }],
  ]);

  it('reads entries, offsets and metadata of a well-formed file', () => {
    const file = writeSafetensors(tensors, { format: 'pt' });
    const header = parseSafetensors(file, 'model.safetensors');
    expect(header.metadata).toEqual({ format: 'pt' });
    expect([...header.entries.keys()]).toEqual(['a.weight', 'b.bias', 'c.empty']);
    expect(header.entries.get('b.bias')).toEqual({ name: 'b.bias', dtype: 'F32', shape: [2], begin: 12, end: 20 });
    expect(header.expectedFileSize).toBe(file.length);
    const a = header.entries.get('a.weight')!;
    expect([...decodeToF32(a.dtype, entryBytes(file, header, a), a.name)]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('names the file, the last tensor and both sizes when the file is truncated', () => {
    const file = writeSafetensors(tensors);
    const error = parseError(file.subarray(0, file.length - 3));
    expect(error.code).toBe('BAD_CHECKPOINT');
    expect(error.message).toBe(
      `model.safetensors: expected ${file.length} bytes (header says tensor b.bias ends at ${file.length}), ` +
        `found ${file.length - 3} bytes. The file is truncated: download it again.`,
    );
  });

  it('rejects a header length beyond the file', () => {
    const file = writeSafetensors(tensors);
    const error = parseError(file.subarray(0, 40));
    expect(error.code).toBe('BAD_CHECKPOINT');
    expect(error.message).toMatch(/^model\.safetensors: expected at least \d+ bytes \(8 \+ a \d+-byte header\), found 40 bytes/);
  });

  it('rejects unparsable JSON', () => {
    expect(parseError(rawFile('{"a": ', 0)).message).toMatch(/^model\.safetensors: expected a JSON header, found unparsable JSON/);
  });

  it('rejects an entry whose byte length disagrees with shape × dtype size', () => {
    const error = parseError(rawFile({ 'w.weight': { dtype: 'BF16', shape: [4, 4], data_offsets: [0, 16] } }, 16));
    expect(error.message).toBe(
      'model.safetensors: tensor w.weight: expected 32 bytes (BF16 [4, 4]), found data_offsets [0, 16] (16 bytes).',
    );
  });

  it('rejects unknown dtypes, bad shapes, missing offsets and trailing bytes', () => {
    const entry = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
    expect(parseError(rawFile({ w: { ...entry, dtype: 'Q4' } }, 8)).message).toContain('found dtype "Q4"');
    expect(parseError(rawFile({ w: { ...entry, shape: [2.5] } }, 8)).message).toContain('found shape [2.5]');
    expect(parseError(rawFile({ w: { dtype: 'F32', shape: [2] } }, 8)).message).toContain('found data_offsets undefined');
    expect(parseError(rawFile({ w: entry }, 12)).message).toMatch(/expected 70 bytes .*found 74 bytes. The file has trailing bytes/);
  });
});
