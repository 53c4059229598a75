// The reduced-model view (reduceExperts) over tiny-v3-fp8 (E = 8, 4 groups, FP8 experts, router bias): renumbered
// expert names with the kept experts' exact values, router rows and bias entries of the kept experts in order,
// the reduced config, untouched pass-through tensors, and clear errors for selections that do not fit; then a
// group-limited V2 model reduced with its groups kept.
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readCalibrationFile } from '../../engine/convert/calibration-node';
import { chooseExperts, reduceExperts, selectionFromScores, type ExpertSelection } from '../../engine/convert/expert-reduction';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import type { TensorSource } from '../../engine/weights/tensor-source';
import { ReferenceModel } from '../reference/forward';
import { fixturePath } from '../support/fixtures';
import { expectEngineError } from '../support/engine-errors';

let source: TensorSource;
let selection: ExpertSelection;

beforeAll(async () => {
  source = await openCheckpoint(fixturePath('tiny-v3-fp8'));
  // Layer 1 prefers high ids, layer 2 low ids; keep 6 does not divide into 4 groups, so the groups collapse.
  const scores = [[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]];
  selection = selectionFromScores(source.config, 6, scores, 'heuristic', 0);
});


const expectBadCheckpoint = (run: () => unknown, fragment: string) => expectEngineError(run, 'BAD_CHECKPOINT', fragment);

describe('reduceExperts view', () => {
  it('chooses per layer and carries the reduced routing in the selection', () => {
    expect(selection.perLayer.map((l) => l.kept)).toEqual([[2, 3, 4, 5, 6, 7], [0, 1, 2, 3, 4, 5]]);
    expect([selection.nGroup, selection.topkGroup, selection.numExpertsPerTok]).toEqual([1, 1, 2]);
    expect(JSON.parse(JSON.stringify(selection))).toEqual(selection);
  });

  it('has the reduced config and only the kept experts, renumbered 0..N-1', () => {
    const reduced = reduceExperts(source, selection);
    expect(reduced.config).toEqual({ ...source.config, nRoutedExperts: 6, nGroup: 1, topkGroup: 1, numExpertsPerTok: 2 });
    const experts = reduced.names().filter((n) => n.startsWith('model.layers.1.mlp.experts.'));
    expect(experts.length).toBe(6 * 3);
    expect(reduced.info('model.layers.1.mlp.experts.6.up_proj.weight')).toBeUndefined();
    const info = reduced.info('model.layers.1.mlp.experts.0.gate_proj.weight')!;
    expect(info.name).toBe('model.layers.1.mlp.experts.0.gate_proj.weight');
    expect(info.blockScale?.name).toBe('model.layers.1.mlp.experts.0.gate_proj.weight_scale_inv');
    expect(reduced.names().length).toBe(source.names().length - 2 * 2 * 3);
  });

  it('serves expert j as original expert kept[j], exactly', async () => {
    const reduced = reduceExperts(source, selection);
    for (const [layer, j, original] of [[1, 0, 2], [1, 5, 7], [2, 0, 0], [2, 5, 5]]) {
      for (const part of ['gate_proj', 'up_proj', 'down_proj']) {
        const got = await reduced.readF32(`model.layers.${layer}.mlp.experts.${j}.${part}.weight`);
        expect(got).toEqual(await source.readF32(`model.layers.${layer}.mlp.experts.${original}.${part}.weight`));
      }
    }
  });

  it('keeps the router rows and correction-bias entries of the kept experts, in order', async () => {
    const reduced = reduceExperts(source, selection);
    const H = source.config.hiddenSize;
    for (const { layer, kept } of selection.perLayer) {
      const router = await source.readF32(`model.layers.${layer}.mlp.gate.weight`);
      const bias = await source.readF32(`model.layers.${layer}.mlp.gate.e_score_correction_bias`);
      const reducedRouter = await reduced.readF32(`model.layers.${layer}.mlp.gate.weight`);
      const reducedBias = await reduced.readF32(`model.layers.${layer}.mlp.gate.e_score_correction_bias`);
      expect(reduced.info(`model.layers.${layer}.mlp.gate.weight`)!.shape).toEqual([6, H]);
      expect(reducedRouter.length).toBe(6 * H);
      kept.forEach((e, j) => {
        expect(reducedRouter.subarray(j * H, (j + 1) * H)).toEqual(router.subarray(e * H, (e + 1) * H));
        expect(reducedBias[j]).toBe(bias[e]);
      });
    }
  });

  it('passes every other tensor through unchanged', async () => {
    const reduced = reduceExperts(source, selection);
    for (const name of ['model.embed_tokens.weight', 'model.layers.1.mlp.shared_experts.down_proj.weight', 'model.layers.0.mlp.up_proj.weight']) {
      expect(await reduced.readF32(name)).toEqual(await source.readF32(name));
    }
  });

  it('keeping all experts runs no statistics but still checks the calibration ids', async () => {
    const all = await chooseExperts(source, 8, { calibration: [[1, 2, 3]] });
    expect(all.perLayer.map((l) => l.kept)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3, 4, 5, 6, 7]]);
    expect([all.method, all.calibrationTokens, all.nGroup, all.topkGroup]).toEqual(['calibration', 0, 4, 2]);
    await expect(chooseExperts(source, 8, { calibration: [[640]] })).rejects.toThrow('a token id in [0, 640)');
  });

  it('rejects selections that do not fit the checkpoint', () => {
    expectBadCheckpoint(() => reduceExperts(source, { ...selection, originalExperts: 16 }), 'n_routed_experts (8)');
    expectBadCheckpoint(() => reduceExperts(source, { ...selection, keep: 9 }), 'from 1 to n_routed_experts');
    expectBadCheckpoint(() => reduceExperts(source, { ...selection, nGroup: 4 }), 'group rule');
    expectBadCheckpoint(() => reduceExperts(source, { ...selection, perLayer: selection.perLayer.slice(1) }), 'one entry per MoE layer');
    const unsorted = selection.perLayer.map((l, i) => (i === 0 ? { ...l, kept: [7, 2, 3, 4, 5, 6] } : l));
    expectBadCheckpoint(() => reduceExperts(source, { ...selection, perLayer: unsorted }), 'ascending');
    const four = selectionFromScores(source.config, 4, [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8]], 'heuristic', 0);
    expect(four.nGroup).toBe(1); // 1 expert per group is too few for noaux_tc's top-2 group score
    expectBadCheckpoint(() => reduceExperts(source, { ...selection, keep: 0 }), 'from 1 to n_routed_experts');
  });
});

describe('reduceExperts with kept groups (shape-v2-grouped: E = 12, 4 groups, top-2 groups, k = 3, softmax)', () => {
  it('keeps the 4 groups with 2 experts each, the best of each group, and the reduced model routes among them', async () => {
    const dir = fixturePath('shape-v2-grouped');
    const grouped = await openCheckpoint(dir);
    const calibration = readCalibrationFile(join(dir, 'golden.safetensors'), grouped.config.vocabSize);
    const chosen = await chooseExperts(grouped, 8, { calibration });
    expect([chosen.nGroup, chosen.topkGroup, chosen.numExpertsPerTok]).toEqual([4, 2, 3]);
    for (const { kept, score } of chosen.perLayer) {
      expect(kept.map((e) => Math.floor(e / 3))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
      for (let g = 0; g < 4; g++) {
        const dropped = [0, 1, 2].map((i) => g * 3 + i).find((e) => !kept.includes(e))!;
        for (const e of kept.filter((k) => Math.floor(k / 3) === g)) expect(score[e]).toBeGreaterThanOrEqual(score[dropped]);
      }
    }
    const model = await ReferenceModel.load(reduceExperts(grouped, chosen));
    const seen = new Set<number>();
    const logits = model.prefill(calibration[0], {
      onRoute: (_layer, _row, route) => {
        expect(route.ids.length).toBe(3);
        // two kept groups of 2: the 3 picks lie in at most 2 groups
        expect(new Set(route.ids.map((e) => Math.floor(e / 2))).size).toBeLessThanOrEqual(2);
        route.ids.forEach((e) => seen.add(e));
      },
    });
    expect(Math.max(...seen)).toBeLessThan(8);
    expect(logits.every(Number.isFinite)).toBe(true);
  });
});
