// `npm run kv-table`: prints a Markdown table of cache bytes per token (engine/kv/kv-bytes.ts) for DeepSeek-V2-Lite,
// DeepSeek-V3 (their published config.json values, scripts/kv-table-configs.ts), the bundled trained default model
// (the config in its committed package manifest) and the generated random-weight model
// (scripts/default-model/default-model-config.ts, with its tokenizer's vocabulary): the latent cache in f32 (what
// the GPU holds), f16 and int8 (stored), against the expanded per-head K/V in f16.
import { readFileSync } from 'node:fs';
import { parseModelConfig, type ModelConfig } from '../engine/config';
import { kvBytesPerToken } from '../engine/kv/kv-bytes';
import { defaultModelConfig, tokenizerVocabSize } from './default-model/default-model-config';
import { deepseekV3TokenizerPath } from './default-model/deepseek-v3-tokenizer';
import { DEEPSEEK_V2_LITE_CONFIG, DEEPSEEK_V3_CONFIG } from './kv-table-configs';

function bundledModelConfig(): ModelConfig {
  const tokenizerJson = JSON.parse(readFileSync(deepseekV3TokenizerPath('tokenizer.json'), 'utf8'));
  return parseModelConfig(defaultModelConfig(tokenizerVocabSize(tokenizerJson)));
}

/** The package manifest already holds the normalised config. */
function trainedModelConfig(): ModelConfig {
  const manifest = JSON.parse(readFileSync('public/models/deepseek-v32-dictionary-chat/manifest.json', 'utf8'));
  return manifest.config as ModelConfig;
}

function bytes(value: number): string {
  const kib = value / 1024;
  return `${value.toLocaleString('en-US')} B (${kib >= 100 ? kib.toFixed(0) : kib.toFixed(1)} KiB)`;
}

function shape(config: ModelConfig): string {
  const parts = [`${config.numLayers} × (${config.kvLoraRank} + ${config.qkRopeHeadDim}`];
  if (config.indexer) parts.push(` + ${config.indexer.headDim}`);
  return `${parts.join('')})`;
}

const models: [string, ModelConfig][] = [
  ['DeepSeek-V2-Lite', parseModelConfig(DEEPSEEK_V2_LITE_CONFIG)],
  ['DeepSeek-V3', parseModelConfig(DEEPSEEK_V3_CONFIG)],
  ['bundled trained default model (V3.2)', trainedModelConfig()],
  ['generated random-weight model (V3.2-shaped)', bundledModelConfig()],
];

const lines = [
  '| model | latent values per token | latent f32 (GPU) | latent f16 | latent int8 | expanded K/V f16 | f16 / expanded |',
  '|---|---|---|---|---|---|---|',
];
for (const [name, config] of models) {
  const b = kvBytesPerToken(config);
  lines.push(`| ${name} | ${shape(config)} | ${bytes(b.latentF32)} | ${bytes(b.latentF16)} | ${bytes(b.latentInt8)} | ` +
    `${bytes(b.expandedKvF16)} | 1 : ${(b.expandedKvF16 / b.latentF16).toFixed(1)} |`);
}
console.log(lines.join('\n'));
