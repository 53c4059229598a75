// The MoE router kernel against the float64 `routeExperts` reference (deepseek-math.md §5): the selected expert
// SETS per token row must match exactly and the weights per expert within f32 tolerance, for V2 (softmax,
// greedy / group-limited) and V3 (sigmoid + bias, top-2-sum groups, renormalised or not) configurations.
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../engine/config';
import { GpuContext } from '../../engine/gpu/context';
import { createStorage, readF32, readU32, runCalls, uploadArray } from '../../engine/gpu/buffers';
import type { MatvecKind } from '../../engine/kernels/matvec-shape';
import { fusedGateLayout, moeRoute, type RouterConfig } from '../../engine/kernels/moe-route';
import { linear, rmsNorm, routeExperts } from '../reference/ops';
import { expectClose, randomArray, TOLERANCE } from '../support/compare';
import { testDevice } from '../support/gpu';

const V2_GREEDY: RouterConfig = {
  nRoutedExperts: 8, numExpertsPerTok: 2, nGroup: 1, topkGroup: 1,
  scoring: 'softmax', topkMethod: 'greedy', normTopkProb: false, routedScalingFactor: 1,
};
const V2_GROUPED: RouterConfig = {
  nRoutedExperts: 16, numExpertsPerTok: 3, nGroup: 4, topkGroup: 2,
  scoring: 'softmax', topkMethod: 'group_limited_greedy', normTopkProb: false, routedScalingFactor: 16,
};
const V3_SMALL: RouterConfig = {
  nRoutedExperts: 8, numExpertsPerTok: 2, nGroup: 4, topkGroup: 2,
  scoring: 'sigmoid', topkMethod: 'noaux_tc', normTopkProb: true, routedScalingFactor: 2.5,
};
const V3_FULL: RouterConfig = { ...V3_SMALL, nRoutedExperts: 256, numExpertsPerTok: 8, nGroup: 8, topkGroup: 4 };
const V3_FULL_PLAIN: RouterConfig = { ...V3_FULL, normTopkProb: false, routedScalingFactor: 1 };

interface RouteResult { ids: Uint32Array; weights: Float32Array; normed?: Float32Array }

interface GateInput { x: Float32Array; weight: Float32Array; hiddenSize: number; norm?: { weight: Float32Array; eps: number } }

async function routeOnGpu(config: RouterConfig, logits: Float32Array, bias: Float32Array | null, rows: number,
  allocatedRows = rows, gate?: GateInput, kind?: MatvecKind): Promise<RouteResult> {
  const { device } = await testDevice();
  const ctx = new GpuContext(device, { kind });
  const k = config.numExpertsPerTok;
  const expertIds = uploadArray(device, new Uint32Array(allocatedRows * k).fill(0xdead), 'expert_ids');
  const expertWeights = uploadArray(device, new Float32Array(allocatedRows * k).fill(-7), 'expert_weights');
  const normed = gate?.norm ? uploadArray(device, new Float32Array(allocatedRows * gate.hiddenSize).fill(-7), 'normed') : null;
  const call = moeRoute(ctx, {
    logits: uploadArray(device, logits, 'router_logits'),
    bias: bias ? uploadArray(device, bias, 'score_bias') : null,
    config, expertIds, expertWeights,
    gate: gate && {
      x: uploadArray(device, gate.x, 'x'), weight: uploadArray(device, gate.weight, 'gate'), hiddenSize: gate.hiddenSize,
      norm: gate.norm && normed ? { weight: uploadArray(device, gate.norm.weight, 'norm'), eps: gate.norm.eps, normed } : undefined,
    },
  });
  ctx.writeStep(rows, 0, false);
  runCalls(device, [call], rows);
  return {
    ids: await readU32(device, expertIds, allocatedRows * k), weights: await readF32(device, expertWeights, allocatedRows * k),
    normed: normed && gate ? await readF32(device, normed, allocatedRows * gate.hiddenSize) : undefined,
  };
}

/** Pairs (id, weight) of one row sorted by id, so selection order does not matter. */
function byId(ids: ArrayLike<number>, weights: ArrayLike<number>): { ids: number[]; weights: number[] } {
  const order = Array.from(ids, (_, i) => i).sort((a, b) => ids[a] - ids[b]);
  return { ids: order.map((i) => ids[i]), weights: order.map((i) => weights[i]) };
}

function expectRoutesMatch(config: RouterConfig, logits: Float32Array, bias: Float32Array | null, rows: number, got: RouteResult): void {
  const E = config.nRoutedExperts;
  const k = config.numExpertsPerTok;
  for (let t = 0; t < rows; t++) {
    const ref = routeExperts(logits.subarray(t * E, (t + 1) * E), bias, config as ModelConfig);
    const want = byId(ref.ids, ref.weights);
    const have = byId(got.ids.subarray(t * k, (t + 1) * k), got.weights.subarray(t * k, (t + 1) * k));
    expect(have.ids, `row ${t}: selected experts`).toEqual(want.ids);
    expectClose(have.weights, want.weights, TOLERANCE.f32, `row ${t}: weights`);
  }
}

describe('moe_route kernel', () => {
  const cases: [string, RouterConfig, boolean][] = [
    ['V2 greedy (E 8, k 2)', V2_GREEDY, false],
    ['V2 group_limited_greedy (E 16, 4 groups keep 2, k 3, scale 16)', V2_GROUPED, false],
    ['V3 sigmoid + bias (E 8, 4 groups keep 2, k 2, norm, scale 2.5)', V3_SMALL, true],
    ['V3 sigmoid without bias (E 8)', V3_SMALL, false],
    ['V3 full size (E 256, 8 groups keep 4, k 8, norm, scale 2.5)', V3_FULL, true],
    ['V3 full size, norm off, scale 1', V3_FULL_PLAIN, true],
  ];
  for (const [name, config, withBias] of cases) {
    for (const rows of [1, 7]) {
      it(`matches routeExperts: ${name}, T = ${rows}`, async () => {
        const E = config.nRoutedExperts;
        const logits = randomArray(rows * E, E * 101 + rows + (withBias ? 5 : 0), 3);
        const bias = withBias ? randomArray(E, E + 13, 0.3) : null;
        expectRoutesMatch(config, logits, bias, rows, await routeOnGpu(config, logits, bias, rows));
      });
    }
  }

  // FUSED_GATE: the logits gate·x computed inside the routing dispatch (the GPU decode path), H = 36, in both
  // adapter kinds' layouts (on SwiftShader the GPU layout's 512 threads are capped to its 256).
  for (const kind of ['gpu', 'cpu'] as const) {
    for (const [name, config, withBias] of [cases[1], cases[2], cases[4]]) {
      it(`with the router gate fused in, matches routeExperts on gate·x: ${name}, T = 3 (${kind} layout)`, async () => {
        const E = config.nRoutedExperts, H = 36, rows = 3;
        const x = randomArray(rows * H, E + 71, 1);
        const weight = randomArray(E * H, E + 72, 0.5);
        const logits = Float32Array.from(linear(x, weight, rows, E, H)); // gate·x, as the f32 logits buffer holds it
        const bias = withBias ? randomArray(E, E + 13, 0.3) : null;
        const unusedLogits = new Float32Array(rows * E).fill(Number.NaN);
        const got = await routeOnGpu(config, unusedLogits, bias, rows, rows, { x, weight, hiddenSize: H }, kind);
        expectRoutesMatch(config, logits, bias, rows, got);
      });
    }
  }

  // NORM_INPUT: x is the residual stream; the post-attention RMSNorm runs in the same dispatch and its rows are
  // written out for the expert kernels. T = 3 of 4 allocated rows. H = 36 (9 vec4s, fewer than the threads); H =
  // 2052 with V2-Lite-r16's router (E 16, k 6): 513 vec4s, several gate batches per lane with a ragged last one;
  // E 12 (expert slots past E idle) and E 512 (more experts than threads: each thread takes several).
  const V2_R16: RouterConfig = { ...V2_GREEDY, nRoutedExperts: 16, numExpertsPerTok: 6 };
  const V2_E12: RouterConfig = { ...V2_GROUPED, nRoutedExperts: 12, nGroup: 3, topkGroup: 2 };
  const V3_E512: RouterConfig = { ...V3_FULL, nRoutedExperts: 512 };
  const normCases: [string, RouterConfig, boolean, number][] = [
    [cases[2][0], V3_SMALL, true, 36], [cases[4][0], V3_FULL, true, 36], ['V2-Lite-r16 router (E 16, k 6)', V2_R16, false, 2052],
    ['V2 grouped, E 12', V2_E12, false, 100], ['V3, E 512', V3_E512, true, 36],
  ];
  for (const kind of ['gpu', 'cpu'] as const) {
    for (const [name, config, withBias, H] of normCases) {
      it(`with the norm and gate fused in, matches rmsNorm then routeExperts: ${name}, H = ${H}, T = 3 (${kind} layout)`, async () => {
        const E = config.nRoutedExperts, rows = 3, eps = 1e-6;
        const x = randomArray(4 * H, E + 81, 4);
        const normWeight = randomArray(H, E + 82, 1);
        const weight = randomArray(E * H, E + 83, 0.5);
        const normed = rmsNorm(x, normWeight, rows, H, eps);
        const logits = Float32Array.from(linear(normed, weight, rows, E, H));
        const bias = withBias ? randomArray(E, E + 13, 0.3) : null;
        const unusedLogits = new Float32Array(rows * E).fill(Number.NaN);
        const got = await routeOnGpu(config, unusedLogits, bias, rows, 4, { x, weight, hiddenSize: H, norm: { weight: normWeight, eps } }, kind);
        expectRoutesMatch(config, logits, bias, rows, got);
        expectClose(got.normed!.subarray(0, rows * H), normed, TOLERANCE.f32, 'normed rows');
        expect(Array.from(got.normed!.subarray(rows * H)), 'the row past the step').toEqual(Array(H).fill(-7));
      });
    }
  }

  it('the GPU layout of the fused gate loads V2-Lite-r16\'s whole gate row in one batch per thread', () => {
    const limits = (n: number) => ({ maxComputeInvocationsPerWorkgroup: n, maxComputeWorkgroupSizeX: n });
    expect(fusedGateLayout('gpu', limits(1024), 16, 2048)).toEqual({ wg: 512, lanes: 32, batch: 16, batches: 1 });
    // Capped to SwiftShader's 256 threads (what the tests above run): twice the vec4s per lane, two batches.
    expect(fusedGateLayout('gpu', limits(256), 16, 2048)).toEqual({ wg: 256, lanes: 16, batch: 16, batches: 2 });
    expect(fusedGateLayout('cpu', limits(256), 16, 2052)).toEqual({ wg: 256, lanes: 16, batch: 4, batches: 9 });
  });

  it('V3 drops the group holding the single best expert when its top-2 sum is low', async () => {
    // Group 0 = {0, 1}: expert 0 has the best σ but expert 1 is near 0, so the group sums to ~1.0 and loses to
    // groups 1 and 2 (~1.6 and ~1.4); expert 0 must not be chosen.
    const logits = new Float32Array([8, -8, 1.5, 1.4, 1.0, 0.9, 0.2, 0.1]);
    const got = await routeOnGpu(V3_SMALL, logits, null, 1);
    expect(Array.from(got.ids).sort()).toEqual([2, 3]);
    const s = (x: number) => 1 / (1 + Math.exp(-x));
    const total = s(1.5) + s(1.4);
    expectClose(byId(got.ids, got.weights).weights, [2.5 * s(1.5) / total, 2.5 * s(1.4) / total], TOLERANCE.f32, 'weights');
    expectRoutesMatch(V3_SMALL, logits, null, 1, got);
  });

  it('V2 group_limited_greedy scores a group by its max probability, not its total', async () => {
    // Group 0 holds one strong expert, groups 1 and 2 four moderate ones each (larger totals); group 0 and 1 stay.
    const logits = new Float32Array([4, -5, -5, -5, 3, 3, 3, 3, 2.9, 2.9, 2.9, 2.9, -1, -1, -1, -1]);
    const got = await routeOnGpu(V2_GROUPED, logits, null, 1);
    expect(Array.from(got.ids)).toEqual([0, 4, 5]);
    expectRoutesMatch(V2_GROUPED, logits, null, 1, got);
  });

  it('V3 selects on the biased score but weighs with the unbiased σ', async () => {
    // Without bias expert 6 would win group 3; the bias moves the choice to expert 7, whose weight stays σ(0.1).
    const logits = new Float32Array([-2, -2, -2, -2, -2, -2, 3, 0.1]);
    const bias = new Float32Array([0, 0, 0, 0, 0, 0, 0, 0.99]);
    const config: RouterConfig = { ...V3_SMALL, numExpertsPerTok: 1, normTopkProb: false, routedScalingFactor: 1 };
    const got = await routeOnGpu(config, logits, bias, 1);
    expect(Array.from(got.ids)).toEqual([7]);
    expectClose(got.weights, [1 / (1 + Math.exp(-0.1))], TOLERANCE.f32, 'weight');
  });

  it('breaks exact ties toward the lower expert index', async () => {
    const logits = new Float32Array(16).fill(0.5);
    logits[9] = 2;
    const got = await routeOnGpu(V2_GROUPED, logits, null, 1);
    // Group 2 (experts 8..11) wins; groups 0,1,3 tie, group 0 is kept; then ties pick 0, 1 after expert 9.
    expect(Array.from(got.ids)).toEqual([9, 0, 1]);
    expectRoutesMatch(V2_GROUPED, logits, null, 1, got);
  });

  it('writes only the step rows', async () => {
    const E = V3_SMALL.nRoutedExperts, k = V3_SMALL.numExpertsPerTok;
    const logits = randomArray(4 * E, 99, 3);
    const got = await routeOnGpu(V3_SMALL, logits, null, 2, 4);
    expectRoutesMatch(V3_SMALL, logits, null, 2, got);
    expect(Array.from(got.ids.subarray(2 * k))).toEqual(new Array(2 * k).fill(0xdead));
    expect(Array.from(got.weights.subarray(2 * k))).toEqual(new Array(2 * k).fill(-7));
  });

  it('rejects a group count that does not divide the experts', async () => {
    const { device } = await testDevice();
    const ctx = new GpuContext(device);
    const buffer = createStorage(device, 1024, 'b');
    expect(() => moeRoute(ctx, { logits: buffer, bias: null, config: { ...V3_SMALL, nGroup: 3 }, expertIds: buffer, expertWeights: buffer }))
      .toThrow(/nGroup/);
  });
});
