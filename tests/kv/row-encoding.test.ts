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
import { DEEPSEEK_V3_CONFIG } from '../../scripts/kv-table-configs';

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
    const v3 = parseModelConfig(DEEPSEEK_V3_CONFIG);
    const bytes = kvBytesPerToken(v3);
    expect(bytes.latentF16).toBe(70272);
    expect(bytes.latentF32).toBe(140544);
    expect(bytes.latentInt8).toBe(61 * (576 + 8));
    expect(bytes.expandedKvF16).toBe(61 * 128 * (192 + 128) * 2);
  });
});
