// Per-token cache bytes the worker reports to the perf panel (engine/kv/kv-bytes.ts): the latent f32 figure equals
// what createScratch really allocates for the latent cache (and the V3.2 indexer key cache), and the latent and
// expanded K/V figures are those worked out by hand from the fixtures' config.json (tiny-v2 without an indexer,
// tiny-v32 with one).
import { describe, expect, it } from 'vitest';
import { createScratch } from '../../engine/model/scratch';
import { kvBytesPerToken } from '../../engine/kv/kv-bytes';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { fixturePath } from '../support/fixtures';
import { testDevice } from '../support/gpu';

describe('kv bytes per token', () => {
  it.each([
    // layers × (rKV + dR [+ dI]) × 4 and layers × heads × (dN + dR + dV) × 2
    ['tiny-v2', 2 * (32 + 8) * 4, 2 * 4 * (16 + 8 + 16) * 2],
    ['tiny-v32', 2 * (32 + 8 + 16) * 4, 2 * 4 * (16 + 8 + 16) * 2],
  ] as const)('%s: latent %d B, full per-head K/V %d B', async (name, latent, full) => {
    const { config } = await openCheckpoint(fixturePath(name));
    expect(kvBytesPerToken(config).latentF32).toBe(latent);
    expect(kvBytesPerToken(config).expandedKvF16).toBe(full);
  });

  it('matches the latent and indexer key caches that the engine allocates per token of context', async () => {
    const { device } = await testDevice();
    for (const name of ['tiny-v2', 'tiny-v32'] as const) {
      const { config } = await openCheckpoint(fixturePath(name));
      const maxContext = 48;
      const scratch = createScratch(device, config, 4, maxContext);
      const caches = [...scratch.latentCache, ...(scratch.indexer?.keyCache ?? [])];
      const allocated = caches.reduce((sum, buffer) => sum + buffer.size, 0);
      expect(allocated / maxContext).toBe(kvBytesPerToken(config).latentF32);
      expect(scratch.indexer !== null).toBe(config.indexer !== null);
    }
  });
});
