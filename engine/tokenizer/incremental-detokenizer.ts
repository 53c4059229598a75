// Turns a stream of generated token ids into text deltas for display. A byte-level BPE token may hold part of a
// UTF-8 character (an emoji is often split over two or three tokens), and decoding it alone gives U+FFFD; so a
// delta is only released once the pending tokens decode to text that does not end in U+FFFD, and those held tokens
// are decoded together. Text is decoded with the last released token as context (then its text is cut off), so
// decoders whose output depends on the previous token (spaces, byte fallback) give the same text as decoding the
// whole stream at once. Invariant: the concatenated deltas plus flush() equal decode(all ids).

/** What the detokeniser needs of a tokenizer. */
export interface TokenDecoder {
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
}

const REPLACEMENT = '\uFFFD';
/** A UTF-8 character has at most 4 bytes and a token at least 1, so more held tokens mean really invalid bytes. */
const MAX_HELD_TOKENS = 8;

export class IncrementalDetokenizer {
  private readonly decoder: TokenDecoder;
  private readonly skipSpecialTokens: boolean;
  /** Last released token (context for the next decode), or none at the start. */
  private context: number[] = [];
  private contextText = '';
  /** Tokens pushed but not yet released because they end inside a UTF-8 character. */
  private pending: number[] = [];

  constructor(decoder: TokenDecoder, options: { skipSpecialTokens?: boolean } = {}) {
    this.decoder = decoder;
    this.skipSpecialTokens = options.skipSpecialTokens ?? false;
  }

  /** Adds one token; returns the new complete text (possibly ''). */
  push(id: number): string {
    this.pending.push(id);
    const text = this.decodeWithContext();
    if (text.endsWith(REPLACEMENT) && this.pending.length < MAX_HELD_TOKENS) return '';
    return this.release(text);
  }

  /** Releases whatever is still held (a stream that really ends inside a character shows U+FFFD here). */
  flush(): string {
    if (this.pending.length === 0) return '';
    const delta = this.release(this.decodeWithContext());
    this.context = [];
    this.contextText = '';
    return delta;
  }

  private decodeWithContext(): string {
    const text = this.decoder.decode([...this.context, ...this.pending], { skipSpecialTokens: this.skipSpecialTokens });
    // A context token decodes to the same text alone and as a prefix, except when a decoder drops a leading
    // space of the very first token; fall back to decoding the pending tokens alone then.
    if (text.startsWith(this.contextText)) return text.slice(this.contextText.length);
    return this.decoder.decode(this.pending, { skipSpecialTokens: this.skipSpecialTokens });
  }

  private release(delta: string): string {
    this.context = [this.pending[this.pending.length - 1]];
    this.contextText = this.decoder.decode(this.context, { skipSpecialTokens: this.skipSpecialTokens });
    if (this.contextText.includes(REPLACEMENT)) { // the tail of a character: no use as context
      this.context = [];
      this.contextText = '';
    }
    this.pending = [];
    return delta;
  }
}
