// MoE router kernel driver (shaders/moe_route.wgsl): from the f32 router logits [T, E] (mlp.gate.weight · x) it
// writes each token's k expert ids [T, k] u32 (best first) and combination weights [T, k] f32, following
// transformers 5.17 (deepseek-math.md §5): V2 softmax scoring with 'greedy' or 'group_limited_greedy' (group
// score = max p), weights p · routedScalingFactor, never renormalised; V3/V3.2 sigmoid scoring (topkMethod is
// ignored, as HF does) with the bias for selection only, groups scored by their two largest biased scores, weights
// from the unbiased σ, renormalised when normTopkProb, then scaled. Ties go to the lower expert index.
import source from '../../shaders/moe_route.wgsl';
import type { ModelConfig } from '../config';
import { f32 } from '../gpu/preprocess';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import { inputNormDefines, type InputNorm } from './input-norm';
import { cappedWorkgroupSize, type MatvecKind, type WorkgroupLimits } from './matvec-shape';

export type RouterConfig = Pick<ModelConfig,
  'nRoutedExperts' | 'numExpertsPerTok' | 'nGroup' | 'topkGroup' | 'scoring' | 'topkMethod' | 'normTopkProb' | 'routedScalingFactor'>;

export interface MoeRouteArgs {
  logits: GPUBuffer; // [T, E] f32 router logits (unused with `gate`)
  /** Computes the logits in the same dispatch from x [T, H] and mlp.gate.weight [E, H] (f32, H a multiple of 4). */
  gate?: { x: GPUBuffer; weight: GPUBuffer; hiddenSize: number; norm?: InputNorm };
  bias: GPUBuffer | null; // [E] f32 e_score_correction_bias (sigmoid routing only; null = no bias)
  config: RouterConfig;
  expertIds: GPUBuffer; // [T, k] u32 out
  expertWeights: GPUBuffer; // [T, k] f32 out
}

/** Workgroup memory holds three E-long arrays: 1024 experts stay inside 16 KiB (the fused gate also checks its partials). */
const MAX_EXPERTS = 1024;

export function moeRoute(ctx: GpuContext, args: MoeRouteArgs): KernelCall {
  const c = args.config;
  const E = c.nRoutedExperts;
  const k = c.numExpertsPerTok;
  checkRouter(c);
  if (c.scoring === 'softmax' && args.bias) throw new Error('moeRoute: bias is only used by sigmoid routing (V3/V3.2); pass null');
  if (args.logits.size < E * 4) throw new Error(`moeRoute: logits (${args.logits.size} bytes) hold less than one row of ${E} f32`);
  if (args.bias && args.bias.size < E * 4) throw new Error(`moeRoute: bias (${args.bias.size} bytes) holds fewer than ${E} f32`);
  if (args.expertIds.size < k * 4) throw new Error(`moeRoute: expertIds (${args.expertIds.size} bytes) hold less than one row of ${k} u32`);
  if (args.expertWeights.size < k * 4) throw new Error(`moeRoute: expertWeights (${args.expertWeights.size} bytes) hold less than one row of ${k} f32`);

  const gate = args.gate;
  if (gate && (gate.hiddenSize % 4 !== 0 || gate.weight.size < E * gate.hiddenSize * 4 || gate.x.size < gate.hiddenSize * 4)) {
    throw new Error(`moeRoute: the fused gate needs H a multiple of 4 (got ${gate.hiddenSize}), weight [${E}, H] and x [T, H] f32`);
  }
  const softmax = c.scoring === 'softmax';
  const grouped = (softmax ? c.topkMethod === 'group_limited_greedy' : true) && c.nGroup > 1 && c.topkGroup < c.nGroup;
  const fused = gate ? fusedGateLayout(ctx.layout, ctx.device.limits, E, gate.hiddenSize) : null;
  if (fused) checkWorkgroupMemory(ctx, E, fused, !!gate?.norm, c.nGroup, k);
  const wg = fused ? fused.wg : Math.min(256, Math.max(32, nextPowerOfTwo(E)));
  const pipeline = ctx.pipeline('moe_route', source, {
    WG: wg,
    N_EXPERTS: E,
    TOP_K: k,
    N_GROUP: grouped ? c.nGroup : 1,
    TOPK_GROUP: grouped ? c.topkGroup : 1,
    SCALE: f32(c.routedScalingFactor),
    SOFTMAX: softmax,
    GROUPED: grouped,
    HAS_BIAS: !!args.bias,
    NORM_TOPK: !softmax && c.normTopkProb, // HF V2 ignores norm_topk_prob
    FUSED_GATE: !!gate,
    ...(gate && fused ? {
      H: gate.hiddenSize, GATE_LANES: fused.lanes, GATE_BATCH: fused.batch, GATE_BATCHES: fused.batches, GATE_BINDING: args.bias ? 5 : 4,
    } : {}),
    ...(gate?.norm ? inputNormDefines(gate.norm, gate.hiddenSize, args.bias ? 6 : 5) : {}),
  });
  const bindings = [ctx.step, gate ? gate.x : args.logits, args.expertIds, args.expertWeights, ...(args.bias ? [args.bias] : []),
    ...(gate ? [gate.weight] : []), ...(gate?.norm ? [gate.norm.weight, gate.norm.normed] : [])];
  return simpleCall('moe_route', pipeline, ctx.bindGroup(pipeline, bindings, 'moe_route'), (rows) => [rows]);
}

/**
 * Threads of the fused-gate workgroup by adapter kind and the gate vec4s each keeps in flight (moe_route.wgsl
 * FUSED_GATE): on GPUs 512 threads x 16 vec4s, so V2-Lite's gate [16, 2048] f32 (128 KiB) is one batch of loads,
 * issued before the norm (256 threads x 4 vec4s took 8 dependent memory round trips after it: 9.7 µs a call on the
 * H100); CPU adapters 256 x 4. The workgroup size is capped by the device's limits.
 */
const FUSED_GATE_LAYOUT = { gpu: { WG: 512, BATCH: 16 }, cpu: { WG: 256, BATCH: 4 } } as const;

export interface FusedGateLayout {
  wg: number; // threads of the workgroup
  lanes: number; // threads sharing one expert's dot product
  batch: number; // gate vec4s a thread loads at once
  batches: number; // batches per gate row
}

/** The fused gate's layout for `experts` gate rows of `hiddenSize` on an adapter of `kind` with `limits`. */
export function fusedGateLayout(kind: MatvecKind, limits: WorkgroupLimits, experts: number, hiddenSize: number): FusedGateLayout {
  const { WG, BATCH } = FUSED_GATE_LAYOUT[kind];
  const wg = cappedWorkgroupSize(WG, limits);
  const lanes = Math.max(1, wg / nextPowerOfTwo(experts));
  const perLane = Math.ceil(hiddenSize / 4 / lanes);
  const batch = Math.min(BATCH, perLane);
  return { wg, lanes, batch, batches: Math.ceil(perLane / batch) };
}

/** The fused gate's workgroup arrays (moe_route.wgsl): 3 E-long score rows, [lanes][E] partials, the norm's sum. */
function checkWorkgroupMemory(ctx: GpuContext, E: number, fused: FusedGateLayout, norm: boolean, groups: number, k: number): void {
  const bytes = 4 * (3 * E + fused.lanes * E + (norm ? fused.wg : 0) + 2 * groups + k);
  const limit = ctx.device.limits.maxComputeWorkgroupStorageSize;
  if (bytes > limit) throw new Error(`moeRoute: the fused gate for ${E} experts needs ${bytes} bytes of workgroup memory, over this device's ${limit}`);
}

function checkRouter(c: RouterConfig): void {
  const E = c.nRoutedExperts;
  const int = (v: number) => Number.isInteger(v) && v >= 1;
  if (!int(E) || E > MAX_EXPERTS) throw new Error(`moeRoute: config.nRoutedExperts must be an integer in [1, ${MAX_EXPERTS}], got ${E}`);
  if (!int(c.numExpertsPerTok) || c.numExpertsPerTok > E) {
    throw new Error(`moeRoute: config.numExpertsPerTok must be in [1, ${E}], got ${c.numExpertsPerTok}`);
  }
  if (!int(c.nGroup) || E % c.nGroup !== 0) throw new Error(`moeRoute: config.nGroup must divide ${E}, got ${c.nGroup}`);
  if (!int(c.topkGroup) || c.topkGroup > c.nGroup) {
    throw new Error(`moeRoute: config.topkGroup must be in [1, nGroup = ${c.nGroup}], got ${c.topkGroup}`);
  }
  if (c.scoring !== 'softmax' && c.scoring !== 'sigmoid') throw new Error(`moeRoute: config.scoring "${c.scoring}" is not softmax or sigmoid`);
  if (c.scoring === 'softmax' && c.topkMethod !== 'greedy' && c.topkMethod !== 'group_limited_greedy') {
    throw new Error(`moeRoute: config.topkMethod "${c.topkMethod}" is not a softmax (V2) method`);
  }
  if (!Number.isFinite(c.routedScalingFactor)) throw new Error(`moeRoute: config.routedScalingFactor ${c.routedScalingFactor} is not finite`);
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
