// parseModelConfig on the three fixtures' config.json files, both config styles, and the BAD_CHECKPOINT cases.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelConfig, type ModelConfig } from '../../engine/config';
import { fixturePath, type FixtureName } from '../support/fixtures';

function rawConfig(name: FixtureName): Record<string, unknown> {
  return JSON.parse(readFileSync(join(fixturePath(name), 'config.json'), 'utf8'));
}

function parseError(raw: unknown): { code: string; message: string } {
  try {
    parseModelConfig(raw);
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('parseModelConfig accepted the config');
}

describe('parseModelConfig on the fixtures', () => {
  it('reads tiny-v3-fp8 (Hub style, YaRN, sigmoid routing) into the exact normalised config', () => {
    const expected: ModelConfig = {
      family: 'deepseek_v3',
      vocabSize: 640,
      hiddenSize: 256,
      intermediateSize: 512,
      moeIntermediateSize: 128,
      numLayers: 3,
      firstKDense: 1,
      numHeads: 4,
      qLoraRank: 128,
      kvLoraRank: 128,
      qkNopeHeadDim: 32,
      qkRopeHeadDim: 16,
      vHeadDim: 32,
      nRoutedExperts: 8,
      nSharedExperts: 1,
      numExpertsPerTok: 2,
      nGroup: 4,
      topkGroup: 2,
      scoring: 'sigmoid',
      topkMethod: 'noaux_tc',
      normTopkProb: true,
      routedScalingFactor: 2.5,
      rmsNormEps: 1e-6,
      maxPositionEmbeddings: 256,
      rope: {
        theta: 10000,
        type: 'yarn',
        factor: 4,
        originalMaxPositions: 64,
        betaFast: 32,
        betaSlow: 1,
        mscale: 1,
        mscaleAllDim: 1,
      },
      indexer: null,
      bosTokenId: 0,
      eosTokenIds: [1],
    };
    expect(parseModelConfig(rawConfig('tiny-v3-fp8'))).toEqual(expected);
  });

  it('reads tiny-v2 as softmax/greedy routing without renormalisation, plain q_proj and plain RoPE', () => {
    const config = parseModelConfig(rawConfig('tiny-v2'));
    expect(config).toMatchObject({
      family: 'deepseek_v2',
      scoring: 'softmax',
      topkMethod: 'greedy',
      normTopkProb: false,
      qLoraRank: null,
      nSharedExperts: 2,
      routedScalingFactor: 1,
      hiddenSize: 64,
      vocabSize: 512,
      kvLoraRank: 32,
      indexer: null,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
    expect(config.rope).toEqual({
      theta: 10000,
      type: 'default',
      factor: 1,
      originalMaxPositions: 512,
      betaFast: 32,
      betaSlow: 1,
      mscale: 0,
      mscaleAllDim: 0,
    });
  });

  it('reads tiny-v32 with its indexer and sigmoid routing (no topk_method / scoring_func in the file)', () => {
    const config = parseModelConfig(rawConfig('tiny-v32'));
    expect(config.indexer).toEqual({ nHeads: 16, headDim: 16, topk: 8 });
    expect(config).toMatchObject({
      family: 'deepseek_v32',
      scoring: 'sigmoid',
      topkMethod: 'noaux_tc',
      normTopkProb: true,
      nGroup: 2,
      topkGroup: 1,
      qLoraRank: 32,
      routedScalingFactor: 2.5,
    });
    expect(config.rope.type).toBe('default');
  });
});

describe('parseModelConfig applies what transformers 5.17 honours', () => {
  it('forces normTopkProb false for V2 even when the file says true, and honours group_limited_greedy', () => {
    const raw = { ...rawConfig('tiny-v2'), norm_topk_prob: true, topk_method: 'group_limited_greedy', n_group: 2 };
    expect(parseModelConfig(raw)).toMatchObject({ normTopkProb: false, topkMethod: 'group_limited_greedy', nGroup: 2 });
  });

  it('routes V3 with sigmoid/noaux_tc whatever scoring_func and topk_method say, and reads norm_topk_prob', () => {
    const raw = { ...rawConfig('tiny-v3-fp8'), scoring_func: 'softmax', topk_method: 'greedy', norm_topk_prob: false };
    expect(parseModelConfig(raw)).toMatchObject({ scoring: 'sigmoid', topkMethod: 'noaux_tc', normTopkProb: false });
  });

  it('defaults n_group/topk_group to 1 and accepts eos_token_id as an array', () => {
    const raw: Record<string, unknown> = { ...rawConfig('tiny-v2'), eos_token_id: [2, 7] };
    delete raw.n_group;
    delete raw.topk_group;
    expect(parseModelConfig(raw)).toMatchObject({ nGroup: 1, topkGroup: 1, eosTokenIds: [2, 7] });
  });

  it('fills YaRN defaults (beta_fast 32, beta_slow 1, mscale 0) when the scaling dict omits them', () => {
    const raw = { ...rawConfig('tiny-v3-fp8'), rope_scaling: { type: 'yarn', factor: 2, original_max_position_embeddings: 32 } };
    expect(parseModelConfig(raw).rope).toEqual({
      theta: 10000,
      type: 'yarn',
      factor: 2,
      originalMaxPositions: 32,
      betaFast: 32,
      betaSlow: 1,
      mscale: 0,
      mscaleAllDim: 0,
    });
  });
});

describe('both config styles give the same ModelConfig', () => {
  it('tiny-v3-fp8 rewritten with transformers-5 rope_parameters parses identically', () => {
    const hub = rawConfig('tiny-v3-fp8');
    const { rope_scaling: scaling, rope_theta: theta, ...rest } = hub as Record<string, unknown> & {
      rope_scaling: Record<string, unknown>;
    };
    const { type, ...scalingRest } = scaling;
    const v5 = { ...rest, rope_parameters: { rope_type: type, rope_theta: theta, ...scalingRest } };
    expect(v5).not.toHaveProperty('rope_scaling');
    expect(parseModelConfig(v5)).toEqual(parseModelConfig(hub));
    expect(parseModelConfig(v5).rope.factor).toBe(4);
  });

  it('tiny-v2 rewritten in Hub style (top-level rope_theta, no scaling dict) parses identically', () => {
    const v5 = rawConfig('tiny-v2');
    const { rope_parameters: params, ...rest } = v5 as Record<string, unknown> & { rope_parameters: { rope_theta: number } };
    const hub = { ...rest, rope_theta: params.rope_theta, rope_scaling: null };
    expect(parseModelConfig(hub)).toEqual(parseModelConfig(v5));
  });

  it('accepts rope_type inside a Hub rope_scaling dict', () => {
    const hub = rawConfig('tiny-v3-fp8') as { rope_scaling: Record<string, unknown> };
    const { type, ...scaling } = hub.rope_scaling;
    const renamed = { ...hub, rope_scaling: { ...scaling, rope_type: type } };
    expect(parseModelConfig(renamed)).toEqual(parseModelConfig(hub));
  });
});

describe('parseModelConfig rejects bad configs with BAD_CHECKPOINT', () => {
  it('names model_type and the supported families for an unsupported model_type', () => {
    const error = parseError({ ...rawConfig('tiny-v2'), model_type: 'llama' });
    expect(error.code).toBe('BAD_CHECKPOINT');
    expect(error.message).toContain('model_type');
    expect(error.message).toContain('deepseek_v2, deepseek_v3, deepseek_v32');
    expect(error.message).toContain('"llama"');
  });

  it('names a missing required field and says it found none', () => {
    const raw = rawConfig('tiny-v3-fp8');
    delete raw.kv_lora_rank;
    const error = parseError(raw);
    expect(error.code).toBe('BAD_CHECKPOINT');
    expect(error.message).toBe('config.json field "kv_lora_rank": expected an integer >= 1, found no such field.');
  });

  it('names an ill-typed field with what was found', () => {
    const error = parseError({ ...rawConfig('tiny-v2'), hidden_size: '64' });
    expect(error.message).toBe('config.json field "hidden_size": expected an integer >= 1, found the string "64".');
  });

  it.each([
    ['a missing q_lora_rank', { q_lora_rank: undefined }, 'q_lora_rank'],
    ['an unsupported rope type', { rope_scaling: { type: 'linear', factor: 2 } }, 'rope_scaling.type'],
    ['YaRN without original_max_position_embeddings', { rope_scaling: { type: 'yarn', factor: 2 } }, 'rope_scaling.original_max_position_embeddings'],
    ['an odd qk_rope_head_dim', { qk_rope_head_dim: 15 }, 'qk_rope_head_dim'],
    ['n_group not dividing n_routed_experts', { n_group: 3, topk_group: 1 }, 'n_group'],
    ['topk_group above n_group', { topk_group: 5 }, 'topk_group'],
    ['more experts per token than experts', { num_experts_per_tok: 9 }, 'num_experts_per_tok'],
    ['first_k_dense_replace above the layer count', { first_k_dense_replace: 4 }, 'first_k_dense_replace'],
  ])('rejects %s', (_, patch, field) => {
    const error = parseError({ ...rawConfig('tiny-v3-fp8'), ...patch });
    expect(error.code).toBe('BAD_CHECKPOINT');
    expect(error.message).toContain(`"${field}"`);
    expect(error.message).toMatch(/expected .+, found .+/);
  });

  it('rejects a V3.2 indexer narrower than the RoPE dims and requires index_topk', () => {
    expect(parseError({ ...rawConfig('tiny-v32'), index_head_dim: 4 }).message).toContain('"index_head_dim"');
    const raw = rawConfig('tiny-v32');
    delete raw.index_topk;
    expect(parseError(raw).message).toBe('config.json field "index_topk": expected an integer >= 1, found no such field.');
  });
});
