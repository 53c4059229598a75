// Writes one safetensors file whose tensor bytes are produced chunk by chunk (generated checkpoints: the bundled
// default model, converter tests), so a file of any size costs little memory. `chunk(tensor, start, count)` returns
// the bytes of elements [start, start + count) of `tensor` in its dtype.
import { open } from 'node:fs/promises';
import { DTYPE_BYTES } from './safetensors';

export interface StreamedTensor {
  name: string;
  dtype: string; // a safetensors dtype, e.g. 'F32', 'BF16'
  shape: readonly number[];
}

const CHUNK_ELEMENTS = 1 << 20;

export async function writeSafetensorsStreamed<T extends StreamedTensor>(
  path: string,
  tensors: readonly T[],
  chunk: (tensor: T, start: number, count: number) => Uint8Array,
  metadata?: Record<string, string>,
): Promise<void> {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const handle = await open(path, 'w');
  try {
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
    await handle.write(prefix);
    await handle.write(headerBytes);
    for (const t of tensors) {
      const count = t.shape.reduce((a, b) => a * b, 1);
      for (let start = 0; start < count; start += CHUNK_ELEMENTS) {
        await handle.write(chunk(t, start, Math.min(CHUNK_ELEMENTS, count - start)));
      }
    }
  } finally {
    await handle.close();
  }
}
