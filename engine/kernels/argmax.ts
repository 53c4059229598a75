// Greedy sampling driver (shaders/argmax.wgsl): the token id [1] u32 of the largest logit in the last row of the
// step's logits [T, V] (the next token after a prefill or decode step); ties go to the lowest index. A single
// workgroup does the whole row (V up to a few hundred thousand), so the result never leaves the GPU until read,
// and the step needs no second dispatch to combine the partial results of several workgroups.
import source from '../../shaders/argmax.wgsl';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import { cappedWorkgroupSize } from './matvec-shape';

export interface ArgmaxArgs {
  logits: GPUBuffer; // [T, V] f32
  vocab: number; // V
  output: GPUBuffer; // [1] u32
}

/**
 * Threads of the workgroup by adapter kind: 1024 on GPUs (capped by the device's limits), so a 102,400-logit row is
 * 25 vec4s a thread in 4 batches of loads (256 threads, one logit a load and 8 loads a batch: 50 dependent batches,
 * 27.6 µs a call on the H100); 256 on CPU adapters, where each barrier switches every invocation in software.
 */
const ARGMAX_WG = { gpu: 1024, cpu: 256 } as const;


export function argmax(ctx: GpuContext, args: ArgmaxArgs): KernelCall {
  const { vocab } = args;
  if (!Number.isInteger(vocab) || vocab < 1) throw new Error(`argmax: vocab must be a positive integer, got ${vocab}`);
  if (args.logits.size < vocab * 4) throw new Error(`argmax: logits (${args.logits.size} bytes) hold less than one row of ${vocab} f32`);
  if (args.output.size < 4) throw new Error('argmax: output must hold one u32');
  const vec4 = vocab % 4 === 0;
  const pipeline = ctx.pipeline('argmax', source, {
    WG: cappedWorkgroupSize(ARGMAX_WG[ctx.layout], ctx.device.limits), VOCAB: vocab, VEC4: vec4, UNIT: vec4 ? 4 : 1,
  });
  const bindings = [ctx.step, args.logits, args.output];
  return simpleCall('argmax', pipeline, ctx.bindGroup(pipeline, bindings, 'argmax'), (rows) => [rows > 0 ? 1 : 0]);
}
