// The default prefill chunk (DeepseekForward's maxRows when the caller gives none): PREFILL_ROWS, fewer where one
// row's logits or (DSA) indexer scores over the context times the rows would outgrow one storage binding.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../engine/config-parse';
import { defaultPrefillRows } from '../../engine/model/forward';
import { fixturePath } from '../support/fixtures';

const limited = (bytes: number) => ({ limits: { maxStorageBufferBindingSize: bytes } }) as unknown as GPUDevice;
const config = (name: 'tiny-v2' | 'tiny-v32') =>
  parseModelConfig(JSON.parse(readFileSync(resolve(fixturePath(name), 'config.json'), 'utf8')));

describe('default prefill rows', () => {
  it('keeps PREFILL_ROWS where the scratch fits and caps it by the binding limit otherwise', () => {
    const v2 = config('tiny-v2'), v32 = config('tiny-v32');
    expect(defaultPrefillRows(limited(128 << 20), v2, 256, 4096)).toBe(256);
    // logits: 4 bytes x vocab per row
    expect(defaultPrefillRows(limited(4 * v2.vocabSize * 10 + 3), v2, 256, 4096)).toBe(10);
    // DSA: indexer scores over a context wider than the vocabulary set the row size
    const context = 4 * v32.vocabSize;
    expect(defaultPrefillRows(limited(4 * context * 7), v32, 256, context)).toBe(7);
    // without an indexer the logits alone count: the same limit holds 4 x 7 rows of them
    expect(defaultPrefillRows(limited(4 * context * 7), v2, 256, context)).toBe(28);
    expect(defaultPrefillRows(limited(16), v2, 256, 4096)).toBe(1);
  });
});
