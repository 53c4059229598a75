// A small DeepSeek-V3.2-shaped package with the real DeepSeek-V3 tokenizer, for chat tests that run many turns:
// the bundled default model's recipe (scripts/default-model: fixed-seed random weights, the project's converter) at
// hidden size 64 with 2 layers and an index_topk of 16, so DSA selects keys from short prompts on and a SwiftShader
// step is cheap. Written once per test process into a temp models folder with an index.json like public/models'.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../engine/convert/convert-checkpoint';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { weightPlan } from '../../engine/weights/weight-plan';
import { defaultModelConfig, tokenizerVocabSize } from '../../scripts/default-model/default-model-config';
import { deepseekV3TokenizerPath } from '../../scripts/default-model/deepseek-v3-tokenizer';
import { writeRandomCheckpoint } from '../../scripts/default-model/random-checkpoint';

export const SMALL_CHAT_MODEL_DIR = 'small-chat-v32';

function smallConfig(vocabSize: number): Record<string, unknown> {
  return {
    ...defaultModelConfig(vocabSize),
    hidden_size: 64, intermediate_size: 128, moe_intermediate_size: 32, n_routed_experts: 4,
    num_attention_heads: 2, num_key_value_heads: 2, q_lora_rank: 32, kv_lora_rank: 32,
    qk_nope_head_dim: 16, qk_rope_head_dim: 8, qk_head_dim: 24, head_dim: 8, v_head_dim: 16,
    index_n_heads: 2, index_head_dim: 16, index_topk: 16,
    num_hidden_layers: 2, layer_types: Array(2).fill('deepseek_sparse_attention'), mlp_layer_types: ['dense', 'sparse'],
    max_position_embeddings: 512,
  };
}

export interface SmallChatModels {
  modelsDir: string; // holds index.json and SMALL_CHAT_MODEL_DIR/
  remove(): Promise<void>;
}

export async function writeSmallChatModels(): Promise<SmallChatModels> {
  const root = await mkdtemp(join(tmpdir(), 'small-chat-model-'));
  const checkpoint = join(root, 'checkpoint');
  const modelsDir = join(root, 'models');
  await mkdir(checkpoint);
  await mkdir(modelsDir);
  const tokenizerJson = JSON.parse(await readFile(deepseekV3TokenizerPath('tokenizer.json'), 'utf8'));
  await writeRandomCheckpoint(checkpoint, smallConfig(tokenizerVocabSize(tokenizerJson)), 7);
  for (const file of ['tokenizer.json', 'tokenizer_config.json'] as const) await copyFile(deepseekV3TokenizerPath(file), join(checkpoint, file));
  const manifest = await convertCheckpoint(await openCheckpoint(checkpoint), join(modelsDir, SMALL_CHAT_MODEL_DIR), {
    plan: weightPlan('f16'), name: 'small chat test model (random weights)', tokenizerDir: checkpoint, force: true,
  });
  await rm(checkpoint, { recursive: true, force: true });
  const entry = {
    name: manifest.name, path: SMALL_CHAT_MODEL_DIR, label: 'random weights', family: manifest.source.family,
    quantisation: manifest.quantisation.description, bytes: manifest.shards.reduce((sum, s) => sum + s.nbytes, 0), generatorVersion: 0,
  };
  await writeFile(join(modelsDir, 'index.json'), JSON.stringify([entry]));
  return { modelsDir, remove: () => rm(root, { recursive: true, force: true }) };
}
