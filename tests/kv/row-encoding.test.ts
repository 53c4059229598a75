// The storage encodings of latent cache rows (engine/kv/row-encoding.ts) against their documented error bounds,
// on values shaped like a cache (normed latents near 1, rotated keys larger, a zero row part), and the byte
// figures of engine/kv/kv-bytes.ts against encoded sizes and DeepSeek-V3's known ~70 KB per token.
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../engine/config';
import { kvBytesPerToken } from '../../engine/kv/kv-bytes';
import {
  decodeRows, encodedBytes, encodeRows, encodingErrorBound, forEachRowPart, KV_ENCODINGS, rowLayout, valuesPerToken,
} from '../../engine/kv/row-encoding';
import { randomArray } from '../support/compare';
import { defaultModelConfig } from '../../scripts/default-model/default-model-config';

const config = parseModelConfig(defaultModelConfig(1000));
const layout = rowLayout(config);

function cacheLikeImage(tokens: number): Float32Array {
  const image = randomArray(tokens * valuesPerToken(layout), 7, 3);
  let part = 0;
  forEachRowPart(layout, tokens, (offset, width) => {
    const scale = [1, 40, 1e-3, 0][part++ % 4]; // mixed magnitudes per part, and all-zero parts
    for (let i = offset; i < offset + width; i++) image[i] *= scale;
  });
  image[5] = 70000; // beyond f16's range: clamped
  return image;
}

describe('latent row encodings', () => {
  for (const encoding of KV_ENCODINGS) {
    it(`${encoding}: every decoded value is within the documented bound of its row part`, () => {
      const tokens = 9;
      const image = cacheLikeImage(tokens);
      const rows = encodeRows(image, layout, tokens, encoding);
      const decoded = decodeRows(rows, layout);
      let worst = 0;
      forEachRowPart(layout, tokens, (offset, width) => {
        let partMax = 0;
        for (let i = offset; i < offset + width; i++) partMax = Math.max(partMax, Math.abs(image[i]));
        for (let i = offset; i < offset + width; i++) {
          const expected = encoding === 'f16' ? Math.min(image[i], 65504) : image[i];
          const error = Math.abs(decoded[i] - expected);
          const bound = encodingErrorBound(encoding, expected, partMax);
          expect(error, `value ${i}`).toBeLessThanOrEqual(bound);
          if (bound > 0) worst = Math.max(worst, error / bound);
        }
      });
      expect(worst, 'the bound is reached closely, not loose by orders of magnitude').toBeGreaterThan(0.5);
      const perValue = encoding === 'f16' ? 2 : 1;
      const scales = encoding === 'int8' ? tokens * layout.layers * 3 * 4 : 0;
      expect(encodedBytes(rows)).toBe(tokens * valuesPerToken(layout) * perValue + scales);
      expect(encodedBytes(rows)).toBe(tokens * kvBytesPerToken(config)[encoding === 'f16' ? 'latentF16' : 'latentInt8']);
    });
  }

  it('rejects an image of the wrong size', () => {
    expect(() => encodeRows(new Float32Array(10), layout, 1, 'f16')).toThrow(/holds/);
  });

  it('DeepSeek-V3 latent bytes per token: 70,272 B in f16 (DeepSeek\'s ~70 KB), 5.0 MB expanded', () => {
    const v3 = parseModelConfig({
      model_type: 'deepseek_v3', vocab_size: 129280, hidden_size: 7168, intermediate_size: 18432, moe_intermediate_size: 2048,
      num_hidden_layers: 61, first_k_dense_replace: 3, n_routed_experts: 256, n_shared_experts: 1, num_experts_per_tok: 8,
      n_group: 8, topk_group: 4, topk_method: 'noaux_tc', scoring_func: 'sigmoid', norm_topk_prob: true, routed_scaling_factor: 2.5,
      num_attention_heads: 128, q_lora_rank: 1536, kv_lora_rank: 512, qk_nope_head_dim: 128, qk_rope_head_dim: 64, v_head_dim: 128,
      max_position_embeddings: 163840, rms_norm_eps: 1e-6, rope_theta: 10000, bos_token_id: 0, eos_token_id: 1,
      rope_scaling: { type: 'yarn', factor: 40, original_max_position_embeddings: 4096, beta_fast: 32, beta_slow: 1, mscale: 1, mscale_all_dim: 1 },
    });
    const bytes = kvBytesPerToken(v3);
    expect(bytes.latentF16).toBe(70272);
    expect(bytes.latentF32).toBe(140544);
    expect(bytes.latentInt8).toBe(61 * (576 + 8));
    expect(bytes.expandedKvF16).toBe(61 * 128 * (192 + 128) * 2);
  });
});
