// Embedding gather driver (shaders/embedding.wgsl): out [T, H] f32 = table[ids[t]] for each of the step's T token
// ids, from an f32, f16, q8 or q4 `embed_tokens` weight [V, H], in one buffer or split by rows across several
// (engine/weights/split-weight.ts; one dispatch per part, each writing the rows of the ids it holds). Out-of-range
// ids give zero rows (the tokenizer never produces them; a zero row is easier to spot than a neighbour's embedding).
import source from '../../shaders/embedding.wgsl';
import type { GpuContext, KernelCall } from '../gpu/context';
import { weightParts, type RowsWeight } from '../weights/split-weight';
import { checkWeight, weightDefines } from './weight-args';

export interface EmbeddingArgs {
  ids: GPUBuffer; // [T] u32 token ids
  table: RowsWeight; // [V, H] f32, f16, q8 or q4; one buffer or parts
  output: GPUBuffer; // [T, H] f32
}

/** Threads per workgroup, one element each: a row of 2,048 is 32 workgroups, spread over the GPU's cores. */
const WG = 64;

export function embedding(ctx: GpuContext, args: EmbeddingArgs): KernelCall {
  const [vocab, dim] = args.table.shape;
  if (args.table.shape.length !== 2) throw new Error(`embedding table: shape [${args.table.shape}] is not [V, H]`);
  if (args.ids.size < 4) throw new Error('embedding: ids buffer holds no u32');
  if (args.output.size < dim * 4) throw new Error(`embedding: output (${args.output.size} bytes) holds less than one row of ${dim} f32`);

  const parts = weightParts(args.table);
  const dispatches = parts.map((part, p) => {
    const [rows, partDim] = checkWeight('embedding table', part.weight, 2);
    if (partDim !== dim || part.firstRow + rows > vocab) {
      throw new Error(`embedding table: part [${part.weight.shape}] from row ${part.firstRow} does not fit [${vocab}, ${dim}]`);
    }
    const pipeline = ctx.pipeline('embedding', source, {
      WG, VOCAB: vocab, DIM: dim, FIRST_ROW: part.firstRow, PART_ROWS: rows, LAST_PART: p === parts.length - 1,
      ...weightDefines(part.weight),
    });
    const group = ctx.bindGroup(pipeline, [ctx.step, args.ids, part.weight.buffer, args.output], `embedding[${part.firstRow}:]`);
    return { pipeline, group };
  });
  return {
    name: 'embedding',
    encode(pass, rows) {
      if (rows === 0) return;
      for (const { pipeline, group } of dispatches) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(Math.ceil(dim / WG), rows);
      }
    },
  };
}
