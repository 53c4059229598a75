// How the keys of a query row of weight-absorbed MLA attention are cut into shares (mla_attention_heads.wgsl writes
// them, its `combine` merges them, mla_attention_rows.wgsl writes them for several rows at once): each share at
// least MIN_KEYS keys, at most SPLITS shares.

fn share_count(nKeys: u32) -> u32 {
  return clamp((nKeys + MIN_KEYS - 1u) / MIN_KEYS, 1u, SPLITS);
}
