// The keys a query row of weight-absorbed MLA attention sees (mla_attention.wgsl, mla_attention_heads.wgsl): row t
// (absolute position pos0 + t) attends to keys 0..pos0 + t, or, with SELECTION in a sparse step (step.sparse == 1),
// to the DSA selection indices[t, 0:min(counts[t], TOPK)], whose entries past pos0 + t or the cache are masked.
// Needs `step` and, with SELECTION, `counts` — and `indices` and MAX_CONTEXT unless COMBINE (that entry point only
// counts keys).

const NO_KEY: u32 = 0xffffffffu;

// How many keys row t goes through (for a selection: its entries, masked ones included).
fn key_count(t: u32) -> u32 {
#ifdef SELECTION
  if (step.sparse == 1u) { return min(counts[t], TOPK); }
#endif
  return step.pos0 + t + 1u;
}

#ifndef COMBINE
// The cache position of row t's k-th key (k < key_count(t)), or NO_KEY when that key is masked.
fn visible_key(t: u32, k: u32) -> u32 {
  var u = k;
#ifdef SELECTION
  if (step.sparse == 1u) { u = indices[t * TOPK + k]; }
#endif
  return select(NO_KEY, u, u <= step.pos0 + t && u < MAX_CONTEXT);
}
#endif
