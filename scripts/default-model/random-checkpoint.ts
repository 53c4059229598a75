// Writes a Hugging Face checkpoint folder (config.json + one BF16 model.safetensors holding every tensor the engine
// loads for the config) with fixed-seed random weights at sensible scales: matrices uniform with std 1/sqrt(fan-in)
// (the embedding and lm_head by the hidden size), norm weights near 1, biases near 0. Value i of a tensor depends
// only on the seed, the tensor's index in expectedTensors() order and i, so the file is the same byte for byte on
// every run and machine. Tensors are generated and written in chunks, so memory stays small whatever the vocabulary.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseModelConfig } from '../../engine/config';
import { expectedTensors } from '../../engine/weights/expected-tensors';
import { writeSafetensorsStreamed } from '../../engine/weights/safetensors-stream-node';


/** Uniform in [-0.5, 0.5) from a 32-bit integer hash of (seed, i). */
function uniform(seed: number, i: number): number {
  let h = Math.imul(i ^ Math.imul(seed, 0x9e3779b1), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
  return ((h ^ (h >>> 15)) >>> 0) / 2 ** 32 - 0.5;
}

/** How a tensor's values are drawn: value = centre + spread * uniform. */
export function valueScale(name: string, shape: readonly number[]): { centre: number; spread: number } {
  if (shape.length === 1) {
    const isNormWeight = /norm\.weight$/.test(name);
    return isNormWeight ? { centre: 1, spread: 0.2 } : { centre: 0, spread: 0.02 };
  }
  const fanIn = name === 'model.embed_tokens.weight' ? shape[1] : shape[shape.length - 1];
  return { centre: 0, spread: Math.sqrt(12 / fanIn) }; // a uniform of width w has std w/sqrt(12)
}

function toBf16(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16; // round to nearest even (all values are finite)
  }
  return new Uint8Array(out.buffer);
}

/** Elements [start, start + count) of tensor number `index` as f32. */
export function randomTensorValues(seed: number, index: number, name: string, shape: readonly number[], start: number, count: number): Float32Array {
  const { centre, spread } = valueScale(name, shape);
  const tensorSeed = (seed + Math.imul(index + 1, 0x632be5ab)) >>> 0;
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = centre + spread * uniform(tensorSeed, start + i);
  return values;
}

export interface RandomTensor {
  name: string;
  shape: number[];
  index: number;
}

/** Writes config.json and model.safetensors into `dir` (which must exist); returns the tensors in file order. */
export async function writeRandomCheckpoint(dir: string, config: Record<string, unknown>, seed: number): Promise<RandomTensor[]> {
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const tensors = expectedTensors(parseModelConfig(config)).map(({ name, shape }, index) => ({ name, shape, index }));
  await writeSafetensorsStreamed(join(dir, 'model.safetensors'), tensors.map((t) => ({ ...t, dtype: 'BF16' })),
    (t, start, count) => toBf16(randomTensorValues(seed, t.index, t.name, t.shape, start, count)), { format: 'pt' });
  return tensors;
}
