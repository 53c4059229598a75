// Which cached rows a new prompt can keep. A conversation's cache encodes token ids c[0..n); a new request's full
// prompt is p[0..m). Rows are kept up to the longest common prefix, but at least one prompt token must still run
// through the model (its logits pick the next token), so at most m - 1 rows are kept. Everything after the kept
// rows is rolled back: an edited message, a regenerated answer (the cache holds more than the prompt), a different
// system prompt. Pure functions; the caller moves model.position.

export interface PrefixPlan {
  keep: number; // cached rows kept (model.position rolls back to this)
  rollBack: number; // cached rows dropped: cached.length - keep
  prefill: number[]; // prompt tokens still to run: prompt.slice(keep), never empty for a non-empty prompt
}

export function commonPrefixLength(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export function planPrefix(cached: ArrayLike<number>, prompt: ArrayLike<number>): PrefixPlan {
  if (prompt.length === 0) throw new RangeError('a prompt needs at least one token');
  const keep = Math.min(commonPrefixLength(cached, prompt), prompt.length - 1);
  return { keep, rollBack: cached.length - keep, prefill: Array.from(prompt).slice(keep) };
}
