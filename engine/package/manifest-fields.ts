// Field checks for parseManifest: typed readers that report the dotted field path on failure, and the check of the
// manifest's `config` against the normalised ModelConfig's shape (a package carries the config already parsed,
// so nothing re-reads a raw config.json; this only makes sure every field is there with the right type).
import type { ModelConfig } from '../config';

export interface Check {
  fail(field: string, expected: string, found: unknown): never;
}

export function expectObject(check: Check, field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) check.fail(field, 'an object', value);
  return value as Record<string, unknown>;
}

export function expectArray(check: Check, field: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) check.fail(field, 'an array', value);
  return value as unknown[];
}

export function expectString(check: Check, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) check.fail(field, 'a non-empty string', value);
  return value as string;
}

export function expectInt(check: Check, field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    check.fail(field, min === 0 ? 'a non-negative integer' : `an integer >= ${min}`, value);
  }
  return value as number;
}

type FieldKind = 'int' | 'int?' | 'number' | 'boolean' | `one of ${string}`;

const CONFIG_FIELDS: Record<string, FieldKind> = {
  family: 'one of deepseek_v2|deepseek_v3|deepseek_v32',
  vocabSize: 'int', hiddenSize: 'int', intermediateSize: 'int', moeIntermediateSize: 'int', numLayers: 'int',
  firstKDense: 'int', numHeads: 'int', qLoraRank: 'int?', kvLoraRank: 'int', qkNopeHeadDim: 'int',
  qkRopeHeadDim: 'int', vHeadDim: 'int', nRoutedExperts: 'int', nSharedExperts: 'int', numExpertsPerTok: 'int',
  nGroup: 'int', topkGroup: 'int', scoring: 'one of softmax|sigmoid',
  topkMethod: 'one of greedy|group_limited_greedy|noaux_tc', normTopkProb: 'boolean', routedScalingFactor: 'number',
  rmsNormEps: 'number', maxPositionEmbeddings: 'int', bosTokenId: 'int?',
};

const ROPE_FIELDS: Record<string, FieldKind> = {
  theta: 'number', type: 'one of default|yarn', factor: 'number', originalMaxPositions: 'int', betaFast: 'number',
  betaSlow: 'number', mscale: 'number', mscaleAllDim: 'number',
};

const INDEXER_FIELDS: Record<string, FieldKind> = { nHeads: 'int', headDim: 'int', topk: 'int' };

function checkFields(check: Check, prefix: string, obj: Record<string, unknown>, fields: Record<string, FieldKind>): void {
  for (const [key, kind] of Object.entries(fields)) {
    const value = obj[key];
    const field = `${prefix}.${key}`;
    if (kind === 'int') expectInt(check, field, value, 0);
    else if (kind === 'int?') { if (value !== null) expectInt(check, field, value, 0); }
    else if (kind === 'number') { if (typeof value !== 'number' || !Number.isFinite(value)) check.fail(field, 'a number', value); }
    else if (kind === 'boolean') { if (typeof value !== 'boolean') check.fail(field, 'true or false', value); }
    else if (!kind.slice(7).split('|').includes(value as string)) check.fail(field, kind.replaceAll('|', ', '), value);
  }
}

export function checkModelConfig(check: Check, raw: unknown): ModelConfig {
  const obj = expectObject(check, 'config', raw);
  checkFields(check, 'config', obj, CONFIG_FIELDS);
  checkFields(check, 'config.rope', expectObject(check, 'config.rope', obj.rope), ROPE_FIELDS);
  if (obj.indexer !== null) checkFields(check, 'config.indexer', expectObject(check, 'config.indexer', obj.indexer), INDEXER_FIELDS);
  expectArray(check, 'config.eosTokenIds', obj.eosTokenIds).forEach((id, i) => expectInt(check, `config.eosTokenIds[${i}]`, id, 0));
  return obj as unknown as ModelConfig;
}
