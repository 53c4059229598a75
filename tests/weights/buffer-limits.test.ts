// The up-front buffer check (engine/weights/buffer-limits.ts) on the committed trained model's manifest and on a
// DeepSeek-V2-Lite-sized lm_head: splittable tensors need one row per buffer, kv_b_proj and a layer's stacked
// experts need their whole size, and a limit below any need fails with ADAPTER_LIMITS naming the tensor and both
// sizes. No GPU: the manifest's recorded sizes are what the loader uploads.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isEngineError } from '../../engine/errors';
import { bufferNeeds, checkBufferLimits, type SizedTensor } from '../../engine/weights/buffer-limits';

const manifestPath = new URL('../../public/models/deepseek-v32-dictionary-chat/manifest.json', import.meta.url);
const tensors = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { tensors: SizedTensor[] }).tensors;
const byName = new Map(tensors.map((t) => [t.name, t]));
const size = (name: string) => byName.get(name)!.nbytes;

function adapterLimitsError(run: () => void): Error & { details: Record<string, unknown> } {
  try {
    run();
  } catch (error) {
    expect(isEngineError(error, 'ADAPTER_LIMITS')).toBe(true);
    return error as Error & { details: Record<string, unknown> };
  }
  throw new Error('expected ADAPTER_LIMITS');
}

describe('buffer limits checked from a manifest', () => {
  const needs = new Map(bufferNeeds(tensors).map((need) => [need.tensor, need]));

  it('needs one row for split tensors, the whole stacked experts and kv_b_proj', () => {
    const lmHead = byName.get('lm_head.weight')!;
    expect(needs.get('lm_head.weight')).toEqual({ tensor: 'lm_head.weight', bytes: lmHead.nbytes / lmHead.shape[0], what: 'one row' });
    const experts = tensors.filter((t) => /^model\.layers\.1\.mlp\.experts\.\d+\.(gate|up)_proj\.weight$/.test(t.name));
    expect(experts.length).toBeGreaterThan(2);
    expect(needs.get('model.layers.1.mlp.experts.gate_up')).toMatchObject({ bytes: experts.reduce((s, t) => s + t.nbytes, 0), what: 'whole' });
    expect(needs.get('model.layers.0.self_attn.kv_b_proj.weight')).toMatchObject({ bytes: size('model.layers.0.self_attn.kv_b_proj.weight'), what: 'whole' });
    const gate = byName.get('model.layers.0.mlp.gate_proj.weight')!;
    const up = byName.get('model.layers.0.mlp.up_proj.weight')!;
    expect(needs.get('model.layers.0.mlp.gate_proj + up_proj')?.bytes).toBe(gate.nbytes / gate.shape[0] + up.nbytes / up.shape[0]);
  });

  it('accepts a limit that fits the largest whole tensor though lm_head and the embedding are bigger', () => {
    const largestWhole = Math.max(...[...needs.values()].filter((n) => n.what === 'whole').map((n) => n.bytes));
    expect(size('lm_head.weight')).toBeGreaterThan(largestWhole);
    expect(() => checkBufferLimits('dictionary-chat', tensors, largestWhole)).not.toThrow();
    const error = adapterLimitsError(() => checkBufferLimits('dictionary-chat', tensors, largestWhole - 16));
    expect(error.message).toMatch(new RegExp(`dictionary-chat needs one buffer of ${largestWhole} bytes for .*experts.*at most ${largestWhole - 16} bytes`));
    expect(error.details).toMatchObject({ needed: largestWhole, available: largestWhole - 16 });
  });

  it('splits a DeepSeek-V2-Lite-sized f16 lm_head (400 MiB) under 128 MiB, refuses a row over the limit', () => {
    const lmHead: SizedTensor = { name: 'lm_head.weight', shape: [102400, 2048], nbytes: 102400 * 2048 * 2 };
    expect(() => checkBufferLimits('V2-Lite', [lmHead], 128 * 2 ** 20)).not.toThrow();
    const error = adapterLimitsError(() => checkBufferLimits('V2-Lite', [lmHead], 4000));
    expect(error.message).toMatch(/V2-Lite needs 4096 bytes for one row of lm_head\.weight, but .* at most 4000 bytes/);
  });
});
