// The chat tokenizer: a model package's own tokenizer.json + tokenizer_config.json (already parsed, so the browser
// worker passes what it read from IndexedDB or fetch and Node passes what it read from disk) loaded through
// transformers.js with remote loading off. Prompts go through the package's chat template (add_generation_prompt
// on; the template writes the BOS itself, so none is added on top). Stop ids are the EOS plus every end-of-turn
// token the template emits after a message (`<｜end▁of▁sentence｜>` for DeepSeek-V3).
import { PreTrainedTokenizer, env } from '@huggingface/transformers';
import { EngineError } from '../errors';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Parsed JSON of the two files; anything else in the package (special_tokens_map.json, ...) is not needed. */
export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

/** Token strings that close a turn in chat templates of the DeepSeek family (only those in the vocabulary count). */
const END_OF_TURN_TOKENS = ['<｜end▁of▁sentence｜>', '<｜EOT｜>', '<|EOT|>', '<|im_end|>'];

function badTokenizer(field: string, found: string): EngineError {
  return new EngineError('BAD_MANIFEST',
    `The model package's tokenizer is unusable: ${field} ${found}. Re-convert the checkpoint with its tokenizer.json and tokenizer_config.json.`,
    { field });
}

export class ChatTokenizer {
  readonly tokenizer: PreTrainedTokenizer;
  /** Ids that end generation: EOS and the template's end-of-turn tokens, ascending. */
  readonly stopTokenIds: number[];
  /** Number of token ids (the largest id + 1): the model's vocabulary must be at least this large. */
  readonly vocabSize: number;

  constructor(files: TokenizerFiles) {
    env.allowRemoteModels = false;
    env.allowLocalModels = false;
    const { tokenizerJson, tokenizerConfig } = files;
    if (typeof tokenizerConfig.chat_template !== 'string') throw badTokenizer('tokenizer_config.json chat_template', 'is missing');
    if (typeof tokenizerJson.model !== 'object' || tokenizerJson.model === null) throw badTokenizer('tokenizer.json model', 'is missing');
    try {
      this.tokenizer = new PreTrainedTokenizer(tokenizerJson, tokenizerConfig);
    } catch (cause) {
      throw badTokenizer('tokenizer.json', `does not load (${(cause as Error).message})`);
    }
    const vocab = this.tokenizer.get_vocab();
    let largestId = -1;
    for (const id of vocab.values()) largestId = Math.max(largestId, id);
    this.vocabSize = largestId + 1;
    const stops = new Set<number>();
    if (Number.isInteger(this.tokenizer.eos_token_id)) stops.add(this.tokenizer.eos_token_id);
    for (const token of END_OF_TURN_TOKENS) {
      const id = vocab.get(token);
      if (id !== undefined && tokenizerConfig.chat_template.includes(token)) stops.add(id);
    }
    if (stops.size === 0) throw badTokenizer('tokenizer_config.json eos_token', 'names no token of the vocabulary');
    this.stopTokenIds = [...stops].sort((a, b) => a - b);
  }

  /** The prompt text the template renders for `messages`, ending with the assistant's turn opening. */
  chatPrompt(messages: readonly ChatMessage[]): string {
    return this.tokenizer.apply_chat_template(messages.map((m) => ({ ...m })), { tokenize: false, add_generation_prompt: true });
  }

  /** Token ids of the prompt for `messages` (BOS once, as the template writes it). */
  encodeChat(messages: readonly ChatMessage[]): number[] {
    return this.encode(this.chatPrompt(messages));
  }

  /** Token ids of `text` as is: special-token strings in it become their ids, no BOS or EOS is added. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false });
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  isStopToken(id: number): boolean {
    return this.stopTokenIds.includes(id);
  }
}
