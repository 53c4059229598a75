// The per-tensor-class storage rule shared by the loader and the converter.
import { describe, expect, it } from 'vitest';
import { coarsestFormat, DEFAULT_PLANS, describePlan, storageFor, tensorClass, weightPlan } from '../../engine/weights/weight-plan';

const matrix = [8, 8];

describe('weight plan', () => {
  it('classifies tensors by their Hub names', () => {
    expect(tensorClass('model.layers.0.input_layernorm.weight', [8])).toBe('vector');
    expect(tensorClass('model.layers.1.mlp.gate.e_score_correction_bias', [4])).toBe('vector');
    expect(tensorClass('model.layers.1.mlp.gate.weight', matrix)).toBe('router');
    expect(tensorClass('model.layers.1.mlp.experts.3.gate_proj.weight', matrix)).toBe('experts');
    expect(tensorClass('model.layers.1.mlp.experts.gate_up_proj', [4, 8, 16])).toBe('experts');
    expect(tensorClass('model.layers.1.mlp.shared_experts.down_proj.weight', matrix)).toBe('matrix');
    expect(tensorClass('model.layers.0.mlp.up_proj.weight', matrix)).toBe('matrix');
    expect(tensorClass('model.layers.0.self_attn.indexer.wk.weight', matrix)).toBe('indexerKey');
    expect(tensorClass('model.layers.0.self_attn.indexer.weights_proj.weight', matrix)).toBe('indexerKey');
    expect(tensorClass('model.layers.0.self_attn.indexer.wq_b.weight', matrix)).toBe('matrix');
    expect(tensorClass('model.layers.0.self_attn.kv_b_proj.weight', matrix)).toBe('kvUp');
    expect(tensorClass('model.embed_tokens.weight', matrix)).toBe('embedding');
    expect(tensorClass('lm_head.weight', matrix)).toBe('lmHead');
  });

  it('keeps routing-sensitive tensors in f32 and kv_b_proj at most f16 under every plan', () => {
    for (const plan of Object.values(DEFAULT_PLANS)) {
      expect(storageFor('model.layers.1.mlp.gate.weight', matrix, plan)).toEqual({ dtype: 'f32', group: 0 });
      expect(storageFor('model.norm.weight', [8], plan).dtype).toBe('f32');
      expect(storageFor('model.layers.0.self_attn.indexer.wk.weight', matrix, plan).dtype).toBe('f32');
      expect(['f32', 'f16']).toContain(storageFor('model.layers.0.self_attn.kv_b_proj.weight', matrix, plan).dtype);
    }
  });

  it('applies the embedding and lm_head overrides and the group size', () => {
    const q4 = weightPlan('q4');
    expect(storageFor('model.layers.0.self_attn.o_proj.weight', matrix, q4)).toEqual({ dtype: 'q4', group: 32 });
    expect(storageFor('lm_head.weight', matrix, q4)).toEqual({ dtype: 'q8', group: 32 });
    expect(storageFor('model.embed_tokens.weight', matrix, weightPlan('q8'))).toEqual({ dtype: 'f16', group: 0 });
    const plain = weightPlan('q4', { group: 64, embedding: 'q4', lmHead: 'q4' });
    expect(storageFor('lm_head.weight', matrix, plain)).toEqual({ dtype: 'q4', group: 64 });
    expect(describePlan(q4)).toBe('q4 g32 (embedding q8, lm_head q8)');
    expect(describePlan(plain)).toBe('q4 g64');
  });

  it('stores the routed experts as plan.routedExperts, defaulting to the plan dtype', () => {
    const routed = 'model.layers.1.mlp.experts.3.down_proj.weight';
    const mixed = weightPlan('f16', { group: 16, routedExperts: 'q8' });
    expect(storageFor(routed, matrix, mixed)).toEqual({ dtype: 'q8', group: 16 });
    expect(storageFor('model.layers.1.mlp.shared_experts.down_proj.weight', matrix, mixed)).toEqual({ dtype: 'f16', group: 0 });
    expect(storageFor('model.layers.0.self_attn.o_proj.weight', matrix, mixed)).toEqual({ dtype: 'f16', group: 0 });
    expect(storageFor('lm_head.weight', matrix, mixed)).toEqual({ dtype: 'f16', group: 0 });
    expect(storageFor('model.layers.1.mlp.gate.weight', matrix, mixed)).toEqual({ dtype: 'f32', group: 0 });
    expect(storageFor(routed, matrix, weightPlan('q4'))).toEqual({ dtype: 'q4', group: 32 });
    expect(describePlan(mixed)).toBe('f16 (routed experts q8 g16)');
    expect(describePlan(weightPlan('q8', { routedExperts: 'q4' }))).toBe('q8 g16 (routed experts q4, embedding f16, lm_head f16)');
    // Without a group, f16 with q8 (q4) routed experts takes q8's (q4's) default group; an explicit 0 still fails.
    expect(weightPlan('f16', { routedExperts: 'q8' })).toEqual({ dtype: 'f16', group: 16, routedExperts: 'q8' });
    expect(weightPlan('f32', { lmHead: 'q4' }).group).toBe(32);
    expect(() => weightPlan('f16', { group: 0, routedExperts: 'q8' })).toThrow(/multiple of 8/);
  });

  it('names the least precise format of a plan (the verify bar)', () => {
    expect(coarsestFormat(weightPlan('f16', { routedExperts: 'q8' }))).toBe('q8');
    expect(coarsestFormat(weightPlan('q4'))).toBe('q4'); // embedding and lm_head q8 are finer
    expect(coarsestFormat(weightPlan('q8', { lmHead: 'q4' }))).toBe('q4');
    expect(coarsestFormat(weightPlan('f32'))).toBe('f32');
    expect(coarsestFormat(weightPlan('f32', { embedding: 'f16' }))).toBe('f16');
  });

  it('rejects a group size the kernels cannot use', () => {
    expect(() => weightPlan('q8', { group: 12 })).toThrow(/multiple of 8/);
    expect(() => weightPlan('q4', { group: 0 })).toThrow(/multiple of 8/);
    expect(weightPlan('f16', { group: 0 }).dtype).toBe('f16');
  });
});
