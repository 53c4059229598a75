// Embedding gather driver (shaders/embedding.wgsl): out [T, H] f32 = table[ids[t]] for each of the step's T token
// ids, from an f32 or f16 `embed_tokens` weight [V, H]. Out-of-range ids give zero rows (the tokenizer never
// produces them; a zero row is easier to spot than a neighbour's embedding).
import source from '../../shaders/embedding.wgsl';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import type { GpuWeight } from '../weights/gpu-weight';

export interface EmbeddingArgs {
  ids: GPUBuffer; // [T] u32 token ids
  table: GpuWeight; // [V, H] f32 or f16
  output: GPUBuffer; // [T, H] f32
}

const WG = 64;

export function embedding(ctx: GpuContext, args: EmbeddingArgs): KernelCall {
  const { table } = args;
  if (table.shape.length !== 2) throw new Error(`embedding: table must be [V, H], got shape [${table.shape}]`);
  const [vocab, dim] = table.shape;
  if (!Number.isInteger(vocab) || vocab < 1 || !Number.isInteger(dim) || dim < 1) {
    throw new Error(`embedding: table shape [${table.shape}] is not a positive [V, H]`);
  }
  if (table.dtype !== 'f32' && table.dtype !== 'f16') throw new Error(`embedding: table dtype "${table.dtype}" is not f32 or f16`);
  const minStride = table.dtype === 'f16' ? Math.ceil(dim / 2) : dim;
  if (table.rowStride < minStride) throw new Error(`embedding: table.rowStride ${table.rowStride} is below ${minStride} for H = ${dim}`);
  if (table.buffer.size < vocab * table.rowStride * 4) {
    throw new Error(`embedding: table buffer (${table.buffer.size} bytes) is smaller than [${vocab}, ${table.rowStride}] words`);
  }
  if (args.ids.size < 4) throw new Error('embedding: ids buffer holds no u32');
  if (args.output.size < dim * 4) throw new Error(`embedding: output (${args.output.size} bytes) holds less than one row of ${dim} f32`);

  const pipeline = ctx.pipeline('embedding', source, {
    WG, VOCAB: vocab, DIM: dim, ROW_STRIDE: table.rowStride, WEIGHT_F16: table.dtype === 'f16',
  });
  const bindings = [ctx.step, args.ids, table.buffer, args.output];
  return simpleCall('embedding', pipeline, ctx.bindGroup(pipeline, bindings, 'embedding'), (rows) => [rows]);
}
