// One layer's feed-forward block as kernel calls, from the residual stream `scratch.hidden`: the post-attention
// RMSNorm into `scratch.normed` (inside the routing dispatch in GPU decode steps, else a dispatch of its own), then
// dense SwiGLU for layers < first_k_dense_replace, otherwise MoE (doc §5): router logits in f32, routing on the
// GPU (expert ids never leave it), the shared experts' SwiGLU, then the routed experts' weighted outputs; every
// down projection adds into `scratch.hidden` (the residual add inside the projection). Where the shared and
// routed weights are both packed-chunk formats (sharedExpertsFuse: every f16/q8/q4 DeepSeek checkpoint on the
// packed path), the shared MLP runs inside the routed experts' two dispatches instead: 3 dispatches per MoE layer
// in GPU decode steps (route with the norm, gate/up, down). GPU steps of several rows (prefill) run the routed
// experts grouped by expert (kernels/experts-grouped.ts) and the shared MLP on the tiled matmul.
import type { ModelConfig } from '../config';
import { byRows, type GpuContext, type KernelCall } from '../gpu/context';
import { expertsDown, expertsSwiGLU, sharedExpertsFuse } from '../kernels/experts';
import { groupedExperts } from '../kernels/experts-grouped';
import { linear, linearSwiGLU } from '../kernels/linear';
import { moeRoute } from '../kernels/moe-route';
import { rmsNorm } from '../kernels/rms-norm';
import type { Scratch } from './scratch';
import type { FeedForwardWeights, LayerWeights } from './weights';
import { oneBuffer } from '../weights/split-weight';

function swiGLU(ctx: GpuContext, weights: FeedForwardWeights, scratch: Scratch): KernelCall[] {
  return [
    linearSwiGLU(ctx, { input: scratch.normed, weight: weights.gateUp, output: scratch.ffnHidden }),
    linear(ctx, { input: scratch.ffnHidden, weight: weights.down, output: scratch.hidden, accumulate: true }),
  ];
}

export function feedForwardCalls(ctx: GpuContext, config: ModelConfig, weights: LayerWeights, scratch: Scratch): KernelCall[] {
  const norm = { weight: weights.postAttentionNorm, eps: config.rmsNormEps, normed: scratch.normed };
  const normCall = rmsNorm(ctx, { dim: config.hiddenSize, eps: norm.eps, hidden: scratch.hidden, weight: norm.weight, out: norm.normed });
  if (weights.dense) return [normCall, ...swiGLU(ctx, weights.dense, scratch)];
  const moe = weights.moe!;
  const topK = config.numExpertsPerTok;
  const routeArgs = { logits: scratch.routerLogits, bias: moe.correctionBias, config, expertIds: scratch.expertIds, expertWeights: scratch.expertWeights };
  // On GPUs a decode row's norm and router logits are computed inside the routing dispatch (two dispatches fewer
  // per layer).
  const router = oneBuffer(moe.router);
  const fuseGate = ctx.layout === 'gpu' && router !== null && router.dtype === 'f32'
    && router.rowStride === config.hiddenSize && config.hiddenSize % 4 === 0;
  const unfused = [normCall, linear(ctx, { input: scratch.normed, weight: moe.router, output: scratch.routerLogits }), moeRoute(ctx, routeArgs)];
  const fusedGate = fuseGate ? { x: scratch.hidden, weight: router.buffer, hiddenSize: config.hiddenSize, norm } : null;
  const route = fusedGate ? [byRows((rows) => rows === 1, moeRoute(ctx, { ...routeArgs, gate: fusedGate }), unfused)] : unfused;
  const { gateUp, down } = moe.experts;
  const routed = { expertIds: scratch.expertIds, topK, output: scratch.expertHidden };
  const routedDown = {
    input: scratch.expertHidden, weight: down, expertIds: scratch.expertIds, expertWeights: scratch.expertWeights, topK,
    output: scratch.hidden, accumulate: true,
  };
  // Steps of several rows on the tiled-matmul path run the routed experts grouped by expert (4 dispatches: bucket,
  // gate/up, down, combine); decode, and every step on CPU adapters, the matrix-vector kernels.
  const grouped = ctx.rowsKernel === 'matmul' && scratch.expertGroups
    ? groupedExperts(ctx, {
      input: scratch.normed, gateUp, down, expertIds: scratch.expertIds, expertWeights: scratch.expertWeights, topK,
      act: scratch.expertHidden, output: scratch.hidden, groups: scratch.expertGroups,
    })
    : null;
  const routedGateUpSeveral = grouped ? grouped.slice(0, 2) : [expertsSwiGLU(ctx, { input: scratch.normed, weight: gateUp, ...routed })];
  const routedDownSeveral = grouped ? grouped.slice(2) : [expertsDown(ctx, routedDown)];
  const shared = moe.shared;
  const sharedGateUpOne = shared ? oneBuffer(shared.gateUp) : null;
  const sharedDownOne = shared ? oneBuffer(shared.down) : null;
  if (shared && sharedGateUpOne && sharedDownOne && sharedExpertsFuse(ctx, gateUp, sharedGateUpOne) && sharedExpertsFuse(ctx, down, sharedDownOne)) {
    // Decode (and every step on CPU adapters, where the shared MLP is matrix-vector per row anyway) runs the fused
    // pair; prefill on GPUs keeps the shared MLP on the tiled matmul, which reads its weights once per 64 tokens.
    const fused = (rows: number) => rows === 1 || ctx.rowsKernel !== 'matmul';
    const [sharedGateUp, sharedDown] = swiGLU(ctx, shared, scratch);
    return [
      ...route,
      byRows(fused, expertsSwiGLU(ctx, { input: scratch.normed, weight: gateUp, ...routed, shared: sharedGateUpOne }),
        [sharedGateUp, ...routedGateUpSeveral]),
      byRows(fused, expertsDown(ctx, { ...routedDown, shared: sharedDownOne }), [sharedDown, ...routedDownSeveral]),
    ];
  }
  const one = (rows: number) => rows === 1 || !grouped;
  return [
    ...route,
    ...(shared ? swiGLU(ctx, shared, scratch) : []),
    byRows(one, expertsSwiGLU(ctx, { input: scratch.normed, weight: gateUp, ...routed }), routedGateUpSeveral),
    byRows(one, expertsDown(ctx, routedDown), routedDownSeveral),
  ];
}
