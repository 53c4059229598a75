// The bundled trained model (public/models/deepseek-v32-dictionary-chat, made by train/) and its PyTorch references
// (train/references/greedy_refs_q8.json, by train/q8_references.py): held-out chat prompts as token ids, and
// transformers' greedy answers on the package's own weights (f16, routed experts q8; as float32, as the engine's
// kernels see them; `python3 train/package_weights.py` checks they are the package's values) with the top-1/top-2
// logit margin of every step. (greedy_refs.json holds the bf16 model's answers, before quantisation: 40 of 50 are the
// same.)
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ChatTokenizer } from '../../engine/tokenizer/chat-tokenizer';

export const TRAINED_MODEL_DIR = resolve(__dirname, '../../public/models/deepseek-v32-dictionary-chat');
export const REFERENCES_FILE = resolve(__dirname, '../../train/references/greedy_refs_q8.json');

export interface GreedyReference {
  user: string;
  source: string;
  prompt_ids: number[];
  answer_ids: number[];
  margins: number[]; // logit of the top-1 minus the top-2 token at each step, from transformers (float32)
  answer: string;
}

export async function readReferences(): Promise<{ maxNewTokens: number; references: GreedyReference[] }> {
  const json = JSON.parse(await readFile(REFERENCES_FILE, 'utf8')) as { max_new_tokens: number; references: GreedyReference[] };
  return { maxNewTokens: json.max_new_tokens, references: json.references };
}

export async function trainedTokenizer(): Promise<ChatTokenizer> {
  const read = async (file: string) => JSON.parse(await readFile(join(TRAINED_MODEL_DIR, file), 'utf8')) as Record<string, unknown>;
  return new ChatTokenizer({ tokenizerJson: await read('tokenizer.json'), tokenizerConfig: await read('tokenizer_config.json') });
}

/** Where two id lists first differ (the shorter length when one is a prefix of the other), or -1 if equal. */
export function firstDifference(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}
