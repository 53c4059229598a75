// Writes a synthetic Hugging Face checkpoint folder for converter tests: a config.json (any DeepSeek config) and
// one safetensors file holding every tensor expectedTensors() asks for, F32 or BF16, with deterministic
// pseudo-random values (value i of a tensor depends only on the tensor's seed and i). Tensor bytes are generated
// and written in chunks, so a checkpoint with tensors of hundreds of MiB costs the test process little memory.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseModelConfig } from '../../engine/config';
import { expectedTensors } from '../../engine/weights/expected-tensors';
import { writeSafetensorsStreamed } from '../../engine/weights/safetensors-stream-node';

export type GeneratedDtype = 'F32' | 'BF16';

/** Value i of the tensor with `seed`: roughly uniform in (-0.5, 0.5), a few larger outliers. */
export function generatedValue(seed: number, i: number): number {
  let h = Math.imul(i ^ Math.imul(seed, 0x9e3779b1), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return (h / 2 ** 32 - 0.5) * (i % 97 === 0 ? 6 : 1);
}


function encodeChunk(seed: number, start: number, count: number, dtype: GeneratedDtype): Uint8Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = generatedValue(seed, start + i);
  if (dtype === 'F32') return new Uint8Array(values.buffer);
  const bits = new Uint32Array(values.buffer);
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = bits[i] >>> 16; // truncation is a valid BF16 value
  return new Uint8Array(out.buffer);
}

export interface GeneratedTensor {
  name: string;
  shape: number[];
  dtype: GeneratedDtype;
  seed: number;
}

/** Writes `config` and its expected tensors into `dir` (which must exist); returns the tensors written. */
export async function writeGeneratedCheckpoint(dir: string, config: Record<string, unknown>,
  dtypeOf: (name: string, shape: number[]) => GeneratedDtype = () => 'F32'): Promise<GeneratedTensor[]> {
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  const tensors = expectedTensors(parseModelConfig(config)).map(({ name, shape }, seed) => ({ name, shape, seed, dtype: dtypeOf(name, shape) }));
  await writeSafetensorsStreamed(join(dir, 'model.safetensors'), tensors, (t, start, count) => encodeChunk(t.seed, start, count, t.dtype));
  return tensors;
}
