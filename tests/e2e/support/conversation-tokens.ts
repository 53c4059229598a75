// What the model reads of the conversation a page shows, counted in Node with the bundled package's own tokenizer
// (index.json's first entry, the model the app loads on first open): the e2e tests compare the perf panel's
// prefill counts with these exact lengths.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { ChatMessage } from '../../../app/store/types';
import { ChatTokenizer } from '../../../engine/tokenizer/chat-tokenizer';
import { bundledModel, PUBLIC_MODELS_DIR } from '../../support/bundled-model';
import { assistantTexts, userTexts } from './chat-page';

/** The tokenizer of the model the app loads on first open: index.json's first entry (the trained default). */
export async function bundledTokenizer(): Promise<ChatTokenizer> {
  await bundledModel(); // makes sure index.json exists
  const [first] = JSON.parse(await readFile(join(PUBLIC_MODELS_DIR, 'index.json'), 'utf8')) as { path: string }[];
  const packageDir = join(PUBLIC_MODELS_DIR, first.path);
  const readJson = async (file: string) => JSON.parse(await readFile(join(packageDir, file), 'utf8')) as Record<string, unknown>;
  return new ChatTokenizer({ tokenizerJson: await readJson('tokenizer.json'), tokenizerConfig: await readJson('tokenizer_config.json') });
}

/** The conversation in view as messages, user and assistant alternating, as the page shows them. */
export async function messagesShown(page: Page): Promise<ChatMessage[]> {
  const [users, assistants] = [await userTexts(page), await assistantTexts(page)];
  return users.flatMap((content, i) => [
    { id: `u${i}`, role: 'user' as const, content },
    ...(i < assistants.length ? [{ id: `a${i}`, role: 'assistant' as const, content: assistants[i]! }] : []),
  ]);
}
