// Reads a checkpoint's config.json (already JSON-parsed) into the engine's `ModelConfig`. Accepts the Hub style
// (top-level `rope_theta` + `rope_scaling` with `type`/`rope_type`) and the transformers-5 style (`rope_parameters`),
// and keeps only what transformers 5.17 honours (deepseek-math.md §1.2): V2 routes with softmax and never
// renormalises; V3/V3.2 always route with sigmoid + correction bias ("noaux_tc"). Every missing or ill-typed field is
// a BAD_CHECKPOINT naming the field with expected vs found, so a wrong file fails here rather than in a kernel.
import type { IndexerConfig, ModelConfig, ModelFamily, RopeConfig } from './config';
import { badCheckpoint } from './errors';

type RawConfig = Record<string, unknown>;

const FAMILIES: readonly ModelFamily[] = ['deepseek_v2', 'deepseek_v3', 'deepseek_v32'];

/** How a found value reads in an error message. */
function describeFound(value: unknown): string {
  if (value === undefined) return 'no such field';
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function fieldError(field: string, expected: string, value: unknown) {
  return badCheckpoint(`config.json field "${field}"`, expected, describeFound(value));
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

function readInt(raw: RawConfig, field: string, min: number, fallback?: number): number {
  const value = raw[field];
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (!isInteger(value) || value < min) {
    throw fieldError(field, min === 0 ? 'a non-negative integer' : `an integer >= ${min}`, value);
  }
  return value;
}

function readNumber(raw: RawConfig, field: string, fallback: number | undefined, prefix = ''): number {
  const value = raw[field];
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw fieldError(prefix + field, 'a number', value);
  return value;
}

function readPositiveNumber(raw: RawConfig, field: string, fallback: number | undefined, prefix = ''): number {
  const value = readNumber(raw, field, fallback, prefix);
  if (!(value > 0)) throw fieldError(prefix + field, 'a positive number', value);
  return value;
}

function readFamily(raw: RawConfig): ModelFamily {
  const value = raw.model_type;
  const family = FAMILIES.find((name) => name === value);
  if (!family) {
    throw fieldError('model_type', `one of the supported families ${FAMILIES.join(', ')}`, value);
  }
  return family;
}

/** `q_lora_rank` must be present: null (plain q_proj, V2-Lite) or a positive rank. transformers' default
 *  (1536) would silently describe a different model, so absence is an error rather than a guess. */
function readQLoraRank(raw: RawConfig): number | null {
  const value = raw.q_lora_rank;
  if (value === null) return null;
  if (!isInteger(value) || value < 1) throw fieldError('q_lora_rank', 'a positive integer or null', value);
  return value;
}

function readTokenIds(raw: RawConfig): { bosTokenId: number | null; eosTokenIds: number[] } {
  const bos = raw.bos_token_id;
  if (bos !== undefined && bos !== null && !(isInteger(bos) && bos >= 0)) {
    throw fieldError('bos_token_id', 'a token id or null', bos);
  }
  const eos = raw.eos_token_id;
  let eosTokenIds: number[];
  if (eos === undefined || eos === null) eosTokenIds = [];
  else if (isInteger(eos) && eos >= 0) eosTokenIds = [eos];
  else if (Array.isArray(eos) && eos.every((id) => isInteger(id) && id >= 0)) eosTokenIds = eos as number[];
  else throw fieldError('eos_token_id', 'a token id or an array of token ids', eos);
  return { bosTokenId: isInteger(bos) ? bos : null, eosTokenIds };
}

/** Both styles: transformers 5 puts theta and the scaling parameters in one `rope_parameters` dict. */
function readRope(raw: RawConfig, maxPositionEmbeddings: number): RopeConfig {
  const params = raw.rope_parameters;
  const scaling = params ?? raw.rope_scaling;
  const dictName = params !== undefined && params !== null ? 'rope_parameters' : 'rope_scaling';
  if (scaling !== undefined && scaling !== null && (typeof scaling !== 'object' || Array.isArray(scaling))) {
    throw fieldError(dictName, 'an object', scaling);
  }
  const dict = (scaling ?? {}) as RawConfig;
  const prefix = `${dictName}.`;
  const theta =
    dict.rope_theta !== undefined
      ? readPositiveNumber(dict, 'rope_theta', undefined, prefix)
      : readPositiveNumber(raw, 'rope_theta', 10000);
  const type = dict.rope_type ?? dict.type ?? 'default';
  const plain: RopeConfig = {
    theta,
    type: 'default',
    factor: 1,
    originalMaxPositions: maxPositionEmbeddings,
    betaFast: 32,
    betaSlow: 1,
    mscale: 0,
    mscaleAllDim: 0,
  };
  if (type === 'default') return plain;
  if (type !== 'yarn') {
    const field = dict.rope_type !== undefined ? 'rope_type' : 'type';
    throw fieldError(prefix + field, 'a supported RoPE type ("default" or "yarn")', type);
  }
  const originalMaxPositions = dict.original_max_position_embeddings;
  if (!isInteger(originalMaxPositions) || originalMaxPositions < 1) {
    throw fieldError(`${prefix}original_max_position_embeddings`, 'a positive integer (YaRN needs it)', originalMaxPositions);
  }
  return {
    ...plain,
    type: 'yarn',
    factor: readPositiveNumber(dict, 'factor', undefined, prefix),
    originalMaxPositions,
    betaFast: readNumber(dict, 'beta_fast', 32, prefix),
    betaSlow: readNumber(dict, 'beta_slow', 1, prefix),
    mscale: readNumber(dict, 'mscale', 0, prefix),
    mscaleAllDim: readNumber(dict, 'mscale_all_dim', 0, prefix),
  };
}

type Routing = Pick<ModelConfig, 'scoring' | 'topkMethod' | 'normTopkProb'>;

/** What transformers 5.17 honours: V2 ignores `scoring_func` and `norm_topk_prob`; V3/V3.2 ignore `topk_method`. */
function readRouting(raw: RawConfig, family: ModelFamily): Routing {
  if (family === 'deepseek_v2') {
    const method = raw.topk_method ?? 'greedy';
    if (method !== 'greedy' && method !== 'group_limited_greedy') {
      throw fieldError('topk_method', '"greedy" or "group_limited_greedy" for deepseek_v2', method);
    }
    return { scoring: 'softmax', topkMethod: method, normTopkProb: false };
  }
  const norm = raw.norm_topk_prob ?? true; // transformers' DeepseekV3Config default
  if (typeof norm !== 'boolean') throw fieldError('norm_topk_prob', 'true or false', norm);
  return { scoring: 'sigmoid', topkMethod: 'noaux_tc', normTopkProb: norm };
}

function readIndexer(raw: RawConfig, family: ModelFamily): IndexerConfig | null {
  if (family !== 'deepseek_v32') return null;
  return {
    nHeads: readInt(raw, 'index_n_heads', 1),
    headDim: readInt(raw, 'index_head_dim', 1),
    topk: readInt(raw, 'index_topk', 1),
  };
}

function check(ok: boolean, field: string, expected: string, found: string): void {
  if (!ok) throw badCheckpoint(`config.json field "${field}"`, expected, found);
}

/** Relations between fields that no single-field check can see. */
function checkConsistency(c: ModelConfig): void {
  check(c.qkRopeHeadDim % 2 === 0, 'qk_rope_head_dim', 'an even number (RoPE rotates pairs)', String(c.qkRopeHeadDim));
  check(c.firstKDense <= c.numLayers, 'first_k_dense_replace', `at most num_hidden_layers (${c.numLayers})`, String(c.firstKDense));
  check(
    c.numExpertsPerTok <= c.nRoutedExperts,
    'num_experts_per_tok',
    `at most n_routed_experts (${c.nRoutedExperts})`,
    String(c.numExpertsPerTok),
  );
  check(
    c.nRoutedExperts % c.nGroup === 0,
    'n_group',
    `a divisor of n_routed_experts (${c.nRoutedExperts})`,
    String(c.nGroup),
  );
  check(c.topkGroup <= c.nGroup, 'topk_group', `at most n_group (${c.nGroup})`, String(c.topkGroup));
  const groupRouting = c.topkMethod !== 'greedy';
  const expertsPerGroup = c.nRoutedExperts / c.nGroup;
  if (groupRouting) {
    check(
      c.numExpertsPerTok <= c.topkGroup * expertsPerGroup,
      'num_experts_per_tok',
      `at most topk_group × experts per group (${c.topkGroup * expertsPerGroup})`,
      String(c.numExpertsPerTok),
    );
  }
  if (c.topkMethod === 'noaux_tc') {
    // The group score is the sum of each group's top-2 biased scores.
    check(expertsPerGroup >= 2, 'n_group', `at most n_routed_experts / 2 (${c.nRoutedExperts / 2})`, String(c.nGroup));
  }
  if (c.indexer) {
    check(
      c.indexer.headDim >= c.qkRopeHeadDim,
      'index_head_dim',
      `at least qk_rope_head_dim (${c.qkRopeHeadDim})`,
      String(c.indexer.headDim),
    );
    check(c.qLoraRank !== null, 'q_lora_rank', 'a positive integer (the V3.2 indexer reads the query latent)', 'null');
  }
}

export function parseModelConfig(raw: unknown): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw badCheckpoint('config.json', 'a JSON object', describeFound(raw));
  }
  const json = raw as RawConfig;
  const family = readFamily(json);
  const maxPositionEmbeddings = readInt(json, 'max_position_embeddings', 1);
  const config: ModelConfig = {
    family,
    vocabSize: readInt(json, 'vocab_size', 1),
    hiddenSize: readInt(json, 'hidden_size', 1),
    intermediateSize: readInt(json, 'intermediate_size', 1),
    moeIntermediateSize: readInt(json, 'moe_intermediate_size', 1),
    numLayers: readInt(json, 'num_hidden_layers', 1),
    firstKDense: readInt(json, 'first_k_dense_replace', 0),
    numHeads: readInt(json, 'num_attention_heads', 1),
    qLoraRank: readQLoraRank(json),
    kvLoraRank: readInt(json, 'kv_lora_rank', 1),
    qkNopeHeadDim: readInt(json, 'qk_nope_head_dim', 1),
    qkRopeHeadDim: readInt(json, 'qk_rope_head_dim', 2),
    vHeadDim: readInt(json, 'v_head_dim', 1),
    nRoutedExperts: readInt(json, 'n_routed_experts', 1),
    nSharedExperts: readInt(json, 'n_shared_experts', 0),
    numExpertsPerTok: readInt(json, 'num_experts_per_tok', 1),
    nGroup: readInt(json, 'n_group', 1, 1),
    topkGroup: readInt(json, 'topk_group', 1, 1),
    ...readRouting(json, family),
    // transformers' defaults when absent: 1.0 (DeepseekV2Config), 2.5 (DeepseekV3Config).
    routedScalingFactor: readPositiveNumber(json, 'routed_scaling_factor', family === 'deepseek_v2' ? 1 : 2.5),
    rmsNormEps: readPositiveNumber(json, 'rms_norm_eps', 1e-6),
    maxPositionEmbeddings,
    rope: readRope(json, maxPositionEmbeddings),
    indexer: readIndexer(json, family),
    ...readTokenIds(json),
  };
  checkConsistency(config);
  return config;
}
