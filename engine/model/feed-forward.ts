// One layer's feed-forward block as kernel calls, reading `scratch.normed` and writing `scratch.delta`:
// dense SwiGLU for layers < first_k_dense_replace, otherwise MoE (doc §5): router logits in f32, routing on the
// GPU (expert ids never leave it), the shared experts' SwiGLU written first, then the routed experts' weighted
// outputs accumulated on top in the same down-projection kernel. Where the shared and routed weights are both
// packed-chunk formats (sharedExpertsFuse: every f16/q8/q4 DeepSeek checkpoint on the packed path), the shared
// MLP runs inside the routed experts' two dispatches instead: 4 dispatches per MoE layer instead of 6 in decode.
import type { ModelConfig } from '../config';
import { byRows, type GpuContext, type KernelCall } from '../gpu/context';
import { expertsDown, expertsSwiGLU, sharedExpertsFuse } from '../kernels/experts';
import { linear, linearSwiGLU } from '../kernels/linear';
import { moeRoute } from '../kernels/moe-route';
import type { Scratch } from './scratch';
import type { FeedForwardWeights, LayerWeights } from './weights';
import { oneBuffer } from '../weights/split-weight';

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
  const routeArgs = { logits: scratch.routerLogits, bias: moe.correctionBias, config, expertIds: scratch.expertIds, expertWeights: scratch.expertWeights };
  // On GPUs a decode row's router logits are computed inside the routing dispatch (one dispatch fewer per layer).
  const router = oneBuffer(moe.router);
  const fuseGate = ctx.layout === 'gpu' && router !== null && router.dtype === 'f32'
    && router.rowStride === config.hiddenSize && config.hiddenSize % 4 === 0;
  const unfused = [linear(ctx, { input: scratch.normed, weight: moe.router, output: scratch.routerLogits }), moeRoute(ctx, routeArgs)];
  const route = fuseGate
    ? [byRows((rows) => rows === 1, moeRoute(ctx, { ...routeArgs, gate: { x: scratch.normed, weight: router.buffer, hiddenSize: config.hiddenSize } }), unfused)]
    : unfused;
  const { gateUp, down } = moe.experts;
  const routed = { expertIds: scratch.expertIds, topK, output: scratch.expertHidden };
  const shared = moe.shared;
  const sharedGateUpOne = shared ? oneBuffer(shared.gateUp) : null;
  const sharedDownOne = shared ? oneBuffer(shared.down) : null;
  if (shared && sharedGateUpOne && sharedDownOne && sharedExpertsFuse(ctx, gateUp, sharedGateUpOne) && sharedExpertsFuse(ctx, down, sharedDownOne)) {
    // Decode (and every step on CPU adapters, where the shared MLP is matrix-vector per row anyway) runs the fused
    // pair; prefill on GPUs keeps the shared MLP on the tiled matmul, which reads its weights once per 32 tokens.
    const fused = (rows: number) => rows === 1 || ctx.rowsKernel !== 'matmul';
    const [sharedGateUp, sharedDown] = swiGLU(ctx, shared, scratch);
    const routedDown = { input: scratch.expertHidden, weight: down, expertIds: scratch.expertIds, expertWeights: scratch.expertWeights, topK, output: scratch.delta };
    return [
      ...route,
      byRows(fused, expertsSwiGLU(ctx, { input: scratch.normed, weight: gateUp, ...routed, shared: sharedGateUpOne }),
        [sharedGateUp, expertsSwiGLU(ctx, { input: scratch.normed, weight: gateUp, ...routed })]),
      byRows(fused, expertsDown(ctx, { ...routedDown, shared: sharedDownOne }), [sharedDown, expertsDown(ctx, { ...routedDown, accumulate: true })]),
    ];
  }
  return [
    ...route,
    ...(shared ? swiGLU(ctx, shared, scratch) : []),
    expertsSwiGLU(ctx, { input: scratch.normed, weight: gateUp, ...routed }),
    expertsDown(ctx, {
      input: scratch.expertHidden, weight: down, expertIds: scratch.expertIds, expertWeights: scratch.expertWeights,
      topK, output: scratch.delta, accumulate: shared !== null,
    }),
  ];
}
