// The adjacent-pair RoPE parts of the query absorption (mla_absorb.wgsl, mla_absorb_tiled.wgsl): qR into qAbs and
// the cached kR of the latent append (deepseek-math.md §3.1). The includer declares `step`, `q`, `qAbs`,
// `ropeTable` (and with APPEND `kva`, `latentCache`) and the constants NH, DN, RKV, WG, DQK, QABS_WIDTH, HALF.

// Pair i of (a, b) at position pos, rotated.
fn rope_adjacent(pos: u32, i: u32, a: f32, b: f32) -> vec2<f32> {
  let cs = (pos * HALF + i) * 2u;
  let c = ropeTable[cs];
  let s = ropeTable[cs + 1u];
  return vec2<f32>(a * c - b * s, a * s + b * c);
}

// qAbs[t,h, RKV:RKV+DR] = ropeAdjacent(q[t,h, DN:DN+DR], pos0 + t) for rows t0 .. t0 + nT - 1.
fn rotate_query(h: u32, t0: u32, nT: u32, lid: u32) {
  for (var i = lid; i < nT * HALF; i += WG) {
    let t = t0 + i / HALF;
    let pair = i % HALF;
    let src = (t * NH + h) * DQK + DN + 2u * pair;
    let r = rope_adjacent(step.pos0 + t, pair, q[src], q[src + 1u]);
    let dst = (t * NH + h) * QABS_WIDTH + RKV + 2u * pair;
    qAbs[dst] = r.x;
    qAbs[dst + 1u] = r.y;
  }
}

#ifdef APPEND
// latentCache[pos, RKV:RKV+DR] = ropeAdjacent(kva[row, RKV:RKV+DR], pos) for the row at src (the cache row at
// dst), pairs first, first + stride, ...
fn append_key_rope(src: u32, dst: u32, pos: u32, first: u32, stride: u32) {
  for (var i = first; i < HALF; i += stride) {
    let r = rope_adjacent(pos, i, kva[src + RKV + 2u * i], kva[src + RKV + 2u * i + 1u]);
    latentCache[dst + RKV + 2u * i] = r.x;
    latentCache[dst + RKV + 2u * i + 1u] = r.y;
  }
}
#endif
