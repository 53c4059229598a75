// The key shares of the heads-sharing MLA attention (mla_attention_heads.wgsl writes them, mla_heads_combine.wgsl
// merges them): each row's keys are cut into share_count shares, each a partial softmax state of RKV + 2 floats
// (unnormalised accumulator, running max m, sum l) in partials [T, NH, SPLITS, SHARE]. Needs MIN_KEYS, SPLITS, RKV.

const SHARE: u32 = RKV + 2u;
const NEG_BIG: f32 = -3.0e38;            // "no key yet": finite so exp(NEG_BIG − m) is a clean 0

// Shares a row's keys are cut into: each at least MIN_KEYS keys, at most SPLITS shares.
fn share_count(nKeys: u32) -> u32 {
  return clamp((nKeys + MIN_KEYS - 1u) / MIN_KEYS, 1u, SPLITS);
}
