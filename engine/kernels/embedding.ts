// Embedding gather driver (shaders/embedding.wgsl): out [T, H] f32 = table[ids[t]] for each of the step's T token
// ids, from an f32, f16, q8 or q4 `embed_tokens` weight [V, H]. Out-of-range ids give zero rows (the tokenizer never
// produces them; a zero row is easier to spot than a neighbour's embedding).
import source from '../../shaders/embedding.wgsl';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import type { GpuWeight } from '../weights/gpu-weight';
import { checkWeight, weightDefines } from './weight-args';

export interface EmbeddingArgs {
  ids: GPUBuffer; // [T] u32 token ids
  table: GpuWeight; // [V, H] f32, f16, q8 or q4
  output: GPUBuffer; // [T, H] f32
}

const WG = 64;

export function embedding(ctx: GpuContext, args: EmbeddingArgs): KernelCall {
  const { table } = args;
  const [vocab, dim] = checkWeight('embedding table', table, 2);
  if (args.ids.size < 4) throw new Error('embedding: ids buffer holds no u32');
  if (args.output.size < dim * 4) throw new Error(`embedding: output (${args.output.size} bytes) holds less than one row of ${dim} f32`);

  const pipeline = ctx.pipeline('embedding', source, {
    WG, VOCAB: vocab, DIM: dim, ...weightDefines(table),
  });
  const bindings = [ctx.step, args.ids, table.buffer, args.output];
  return simpleCall('embedding', pipeline, ctx.bindGroup(pipeline, bindings, 'embedding'), (rows) => [rows]);
}
