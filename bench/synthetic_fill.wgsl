// Fills a run of u32 words of a GPU buffer with counter-based pseudo-random values (lowbias32 hash of the word
// index and a seed), in one of the engine's packed storage formats (engine/weights/quant.ts), so a synthetic model's
// weights and caches are made on the GPU: nothing on disk, nothing large in JS memory. The same (seed, index) always
// gives the same word. Modes (fill.mode):
//   0 f32:   center + amplitude · u                         (one float per word)
//   1 f16:   pack2x16float(center + amplitude · u0, ... u1) (two halves per word)
//   2 codes: the hash itself: four int8 (q8) or eight 4-bit (q4) codes per word, uniform over their range
//   3 scale: pack2x16float of amplitude · (1 + 0.25·u) twice (q8/q4 group scales, all positive)
// u, u0, u1 are uniform in [-1, 1). The grid strides, so any word count fits in 65535 workgroups.
struct Fill {
  start: u32, // first word written
  count: u32, // words written
  seed: u32,
  mode: u32,
  center: f32,
  amplitude: f32,
}

@group(0) @binding(0) var<uniform> fill: Fill;
@group(0) @binding(1) var<storage, read_write> words: array<u32>; // [start + count] at least

fn lowbias32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

fn hashed(i: u32, lane: u32) -> u32 {
  return lowbias32(i ^ lowbias32(fill.seed * 2u + lane));
}

fn unit_random(i: u32, lane: u32) -> f32 {
  return f32(hashed(i, lane) >> 8u) / 8388608.0 - 1.0;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let stride = groups.x * 256u;
  for (var j = gid.x; j < fill.count; j += stride) {
    let i = fill.start + j;
    var word: u32;
    switch fill.mode {
      case 0u: { word = bitcast<u32>(fill.center + fill.amplitude * unit_random(i, 0u)); }
      case 1u: {
        word = pack2x16float(vec2<f32>(fill.center + fill.amplitude * unit_random(i, 0u), fill.center + fill.amplitude * unit_random(i, 1u)));
      }
      case 2u: { word = hashed(i, 0u); }
      default: {
        word = pack2x16float(fill.amplitude * vec2<f32>(1.0 + 0.25 * unit_random(i, 0u), 1.0 + 0.25 * unit_random(i, 1u)));
      }
    }
    words[i] = word;
  }
}
