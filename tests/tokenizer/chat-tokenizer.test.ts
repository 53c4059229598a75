// The chat tokenizer with the real DeepSeek-V3 tokenizer files: text with CJK and emoji round-trips, the chat
// template renders a 2-turn conversation exactly as tokenizer_config.json's chat_template spells it (BOS once),
// stop ids are EOS/end-of-turn, and the incremental detokeniser never shows half a UTF-8 character.
import { beforeAll, describe, expect, it } from 'vitest';
import { ChatTokenizer, type ChatMessage } from '../../engine/tokenizer/chat-tokenizer';
import { IncrementalDetokenizer } from '../../engine/tokenizer/incremental-detokenizer';
import { isEngineError } from '../../engine/errors';
import { deepseekV3TokenizerFiles } from '../../scripts/default-model/deepseek-v3-tokenizer';

const BOS = '<｜begin▁of▁sentence｜>';
const EOS = '<｜end▁of▁sentence｜>';
const USER = '<｜User｜>';
const ASSISTANT = '<｜Assistant｜>';

let tokenizer: ChatTokenizer;
beforeAll(() => {
  tokenizer = new ChatTokenizer(deepseekV3TokenizerFiles());
});

const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'What is 2+2? 用中文回答。' },
  { role: 'assistant', content: '2+2 等于 4 🙂' },
  { role: 'user', content: 'And 3+3?' },
];

describe('DeepSeek-V3 tokenizer', () => {
  it.each([
    'Hello, world! The quick brown fox jumps over the lazy dog.',
    '深度求索是一家人工智能公司。日本語のテキストも。',
    'Emoji: 😀🚀👩‍👩‍👧 and flags 🇯🇵, math ∑ x² ≤ 10³',
    '  leading spaces,\ttabs\nand new lines\n\n',
  ])('encode then decode gives the text back: %s', (text) => {
    const ids = tokenizer.encode(text);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize)).toBe(true);
    expect(tokenizer.decode(ids)).toBe(text);
  });

  it('has the vocabulary of tokenizer.json: 128000 BPE tokens plus the added tokens up to id 128814', () => {
    const json = deepseekV3TokenizerFiles().tokenizerJson as { added_tokens: { id: number }[] };
    const largestAdded = Math.max(...json.added_tokens.map((t) => t.id));
    expect(tokenizer.vocabSize).toBe(largestAdded + 1);
    expect(tokenizer.vocabSize).toBe(128815);
  });

  it('renders a 2-turn conversation with a system prompt as the chat_template spells it', () => {
    // chat_template: {{bos_token}}{{system_prompt}}, then per user '<｜User｜>' + content, per assistant
    // '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>', and with add_generation_prompt a final '<｜Assistant｜>'.
    const [system, user1, assistant1, user2] = conversation.map((m) => m.content);
    const expected = `${BOS}${system}${USER}${user1}${ASSISTANT}${assistant1}${EOS}${USER}${user2}${ASSISTANT}`;
    expect(tokenizer.chatPrompt(conversation)).toBe(expected);
    const ids = tokenizer.encodeChat(conversation);
    const special = (token: string) => tokenizer.tokenizer.convert_tokens_to_ids(token);
    // Special tokens split the text, so the ids are the pieces' ids in order; exactly one BOS, at the start.
    expect(ids).toEqual([
      special(BOS), ...tokenizer.encode(system), special(USER), ...tokenizer.encode(user1), special(ASSISTANT),
      ...tokenizer.encode(assistant1), special(EOS), special(USER), ...tokenizer.encode(user2), special(ASSISTANT),
    ]);
    expect(ids.filter((id) => id === special(BOS))).toHaveLength(1);
    expect(tokenizer.decode(ids)).toBe(expected);
  });

  it('stops on EOS, which is also the end-of-turn token of the template', () => {
    expect(tokenizer.stopTokenIds).toEqual([tokenizer.tokenizer.convert_tokens_to_ids(EOS)]);
    expect(tokenizer.stopTokenIds).toContain(tokenizer.tokenizer.eos_token_id);
    expect(tokenizer.isStopToken(tokenizer.encode(EOS)[0])).toBe(true);
  });

  it('refuses a tokenizer_config.json without a chat template with BAD_MANIFEST', () => {
    const files = deepseekV3TokenizerFiles();
    delete files.tokenizerConfig.chat_template;
    let error: unknown;
    try { new ChatTokenizer(files); } catch (e) { error = e; }
    expect(isEngineError(error, 'BAD_MANIFEST')).toBe(true);
    expect((error as Error).message).toMatch(/chat_template is missing/);
  });
});

describe('incremental detokeniser', () => {
  const text = 'Smile 😀 then 深度求索 and 👩‍👩‍👧 done.';

  it('streams text whose emoji are split across tokens exactly, with no U+FFFD in any delta', () => {
    const ids = tokenizer.encode(text);
    // The property is only tested if some token really holds part of a character.
    const partial = ids.filter((id) => tokenizer.decode([id]).includes('\uFFFD'));
    expect(partial.length).toBeGreaterThanOrEqual(2);
    const detok = new IncrementalDetokenizer(tokenizer);
    const deltas = ids.map((id) => detok.push(id));
    deltas.push(detok.flush());
    for (const delta of deltas) expect(delta).not.toContain('\uFFFD');
    expect(deltas.join('')).toBe(text);
    expect(deltas.filter((d) => d === '').length).toBeGreaterThan(0); // bytes were held back
  });

  it('gives the same text as decoding the whole stream for a chat answer with special tokens skipped', () => {
    const ids = [...tokenizer.encode(` ${text} 续写：你好！`), ...tokenizer.stopTokenIds];
    const detok = new IncrementalDetokenizer(tokenizer, { skipSpecialTokens: true });
    const streamed = ids.map((id) => detok.push(id)).join('') + detok.flush();
    expect(streamed).toBe(tokenizer.decode(ids, { skipSpecialTokens: true }));
    expect(streamed).toBe(` ${text} 续写：你好！`);
  });

  it('flush shows a stream that ends inside a character as U+FFFD rather than dropping it', () => {
    const ids = tokenizer.encode('😀');
    const detok = new IncrementalDetokenizer(tokenizer);
    expect(detok.push(ids[0])).toBe('');
    expect(detok.flush()).toContain('\uFFFD');
  });
});
