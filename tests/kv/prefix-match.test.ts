// Which cached rows a new prompt keeps (engine/kv/prefix-match.ts): the longest common prefix, at least one prompt
// token left to run, and a roll-back of everything after the kept rows.
import { describe, expect, it } from 'vitest';
import { commonPrefixLength, planPrefix } from '../../engine/kv/prefix-match';

describe('prefix plan', () => {
  it('a follow-up message keeps every cached row and prefills only the new tokens', () => {
    expect(planPrefix([1, 2, 3], [1, 2, 3, 4, 5])).toEqual({ keep: 3, rollBack: 0, prefill: [4, 5] });
  });

  it('an edited message keeps the rows before the first differing token', () => {
    expect(planPrefix([1, 2, 3, 4, 5], [1, 2, 9, 4, 5, 6])).toEqual({ keep: 2, rollBack: 3, prefill: [9, 4, 5, 6] });
  });

  it('regenerate (the cache holds the prompt and the old answer) rolls back to the prompt, leaving its last token to run', () => {
    expect(planPrefix([1, 2, 3, 4, 7, 8], [1, 2, 3, 4])).toEqual({ keep: 3, rollBack: 3, prefill: [4] });
  });

  it('the same prompt again keeps all but its last token', () => {
    expect(planPrefix([5, 6, 7], [5, 6, 7])).toEqual({ keep: 2, rollBack: 1, prefill: [7] });
  });

  it('nothing in common, or an empty cache, keeps nothing', () => {
    expect(planPrefix([9, 9], [1, 2])).toEqual({ keep: 0, rollBack: 2, prefill: [1, 2] });
    expect(planPrefix([], [1])).toEqual({ keep: 0, rollBack: 0, prefill: [1] });
  });

  it('rejects an empty prompt; the common prefix of typed arrays counts elements', () => {
    expect(() => planPrefix([1], [])).toThrow(/at least one token/);
    expect(commonPrefixLength(Uint32Array.of(1, 2, 3), [1, 2, 4])).toBe(2);
  });
});
