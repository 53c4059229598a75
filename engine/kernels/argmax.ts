// Greedy sampling driver (shaders/argmax.wgsl): the token id [1] u32 of the largest logit in the last row of the
// step's logits [T, V] (the next token after a prefill or decode step); ties go to the lowest index. A single
// workgroup does the whole row (V up to a few hundred thousand), so the result never leaves the GPU until read.
import source from '../../shaders/argmax.wgsl';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';

export interface ArgmaxArgs {
  logits: GPUBuffer; // [T, V] f32
  vocab: number; // V
  output: GPUBuffer; // [1] u32
}

const WG = 256;

export function argmax(ctx: GpuContext, args: ArgmaxArgs): KernelCall {
  const { vocab } = args;
  if (!Number.isInteger(vocab) || vocab < 1) throw new Error(`argmax: vocab must be a positive integer, got ${vocab}`);
  if (args.logits.size < vocab * 4) throw new Error(`argmax: logits (${args.logits.size} bytes) hold less than one row of ${vocab} f32`);
  if (args.output.size < 4) throw new Error('argmax: output must hold one u32');
  const pipeline = ctx.pipeline('argmax', source, { WG, VOCAB: vocab });
  const bindings = [ctx.step, args.logits, args.output];
  return simpleCall('argmax', pipeline, ctx.bindGroup(pipeline, bindings, 'argmax'), (rows) => [rows > 0 ? 1 : 0]);
}
