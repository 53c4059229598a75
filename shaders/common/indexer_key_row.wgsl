// One token row's DSA indexer key into the indexer cache (deepseek-math.md §6.1 steps 2-3):
//   indexer_cache[pos0 + t] = ropeHalf(LayerNorm(key[t]) with weight and bias, biased variance, IX_EPS)
// where key[t] = the first DI columns of key_and_weights[t] (wk·x) and ropeHalf rotates the half-split pairs
// (i, i + DR/2), i < DR/2, of the first DR dims by the angle of absolute position pos0 + t; dims [DR, DI) are
// copied unrotated. Used by indexer_key.wgsl (a dispatch of its own) and by mla_absorb.wgsl (extra workgroups of
// the query absorption, INDEXER_APPEND).
// The includer defines WG, NI, DI, DR, IX_EPS and IX_BINDING (the first of this snippet's four bindings), declares
// `step` and ropeTable ([positions, DR/2, 2] (cos, sin)), and includes "workgroup_sum" first.

const IX_HALF: u32 = DR / 2u;
const IX_ROW: u32 = DI + NI; // key_and_weights row stride

@group(0) @binding(IX_BINDING) var<storage, read> key_and_weights: array<f32>;          // [T, DI + NI]
@group(0) @binding(IX_BINDING + 1) var<storage, read> ix_norm_weight: array<f32>;      // [DI]
@group(0) @binding(IX_BINDING + 2) var<storage, read> ix_norm_bias: array<f32>;        // [DI]
@group(0) @binding(IX_BINDING + 3) var<storage, read_write> indexer_cache: array<f32>; // [maxContext, DI]

var<workgroup> ix_normed: array<f32, DI>;

// Row t of the step. Uniform control flow (t is the workgroup's).
fn indexer_key_row(t: u32, lid: u32) {
  let base = t * IX_ROW;
  // Two-pass mean and biased variance: the key is only DI wide, so re-reading it is cheap and more accurate.
  var sum = 0.0;
  for (var i = lid; i < DI; i += WG) { sum += key_and_weights[base + i]; }
  let mean = workgroup_sum(lid, sum) / f32(DI);
  var squares = 0.0;
  for (var i = lid; i < DI; i += WG) {
    let centred = key_and_weights[base + i] - mean;
    squares += centred * centred;
  }
  let inv = inverseSqrt(workgroup_sum(lid, squares) / f32(DI) + IX_EPS);
  for (var i = lid; i < DI; i += WG) {
    ix_normed[i] = (key_and_weights[base + i] - mean) * inv * ix_norm_weight[i] + ix_norm_bias[i];
  }
  workgroupBarrier();

  let pos = step.pos0 + t;
  let out = pos * DI;
  for (var i = lid; i < DI; i += WG) {
    var value = ix_normed[i];
    if (i < IX_HALF) {
      let cs = (pos * IX_HALF + i) * 2u;
      value = ix_normed[i] * ropeTable[cs] - ix_normed[i + IX_HALF] * ropeTable[cs + 1u];
    } else if (i < DR) {
      let cs = (pos * IX_HALF + i - IX_HALF) * 2u;
      value = ix_normed[i] * ropeTable[cs] + ix_normed[i - IX_HALF] * ropeTable[cs + 1u];
    }
    indexer_cache[out + i] = value;
  }
  workgroupBarrier(); // ix_normed is reused by the next row
}
