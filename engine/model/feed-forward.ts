// One layer's feed-forward block as kernel calls, reading `scratch.normed` and writing `scratch.delta`:
// dense SwiGLU for layers < first_k_dense_replace, otherwise MoE (doc §5): router logits in f32, routing on the
// GPU (expert ids never leave it), the shared experts' SwiGLU written first, then the routed experts' weighted
// outputs accumulated on top in the same down-projection kernel.
import type { ModelConfig } from '../config';
import type { GpuContext, KernelCall } from '../gpu/context';
import { expertsDown, expertsSwiGLU } from '../kernels/experts';
import { linear, linearSwiGLU } from '../kernels/linear';
import { moeRoute } from '../kernels/moe-route';
import type { Scratch } from './scratch';
import type { FeedForwardWeights, LayerWeights } from './weights';

function swiGLU(ctx: GpuContext, weights: FeedForwardWeights, scratch: Scratch): KernelCall[] {
  return [
    linearSwiGLU(ctx, { input: scratch.normed, weight: weights.gateUp, output: scratch.ffnHidden }),
    linear(ctx, { input: scratch.ffnHidden, weight: weights.down, output: scratch.delta }),
  ];
}

export function feedForwardCalls(ctx: GpuContext, config: ModelConfig, weights: LayerWeights, scratch: Scratch): KernelCall[] {
  if (weights.dense) return swiGLU(ctx, weights.dense, scratch);
  const moe = weights.moe!;
  const topK = config.numExpertsPerTok;
  return [
    linear(ctx, { input: scratch.normed, weight: moe.router, output: scratch.routerLogits }),
    moeRoute(ctx, {
      logits: scratch.routerLogits, bias: moe.correctionBias, config,
      expertIds: scratch.expertIds, expertWeights: scratch.expertWeights,
    }),
    ...(moe.shared ? swiGLU(ctx, moe.shared, scratch) : []),
    expertsSwiGLU(ctx, { input: scratch.normed, weight: moe.experts.gateUp, expertIds: scratch.expertIds, topK, output: scratch.expertHidden }),
    expertsDown(ctx, {
      input: scratch.expertHidden, weight: moe.experts.down, expertIds: scratch.expertIds, expertWeights: scratch.expertWeights,
      topK, output: scratch.delta, accumulate: moe.shared !== null,
    }),
  ];
}
