// The float64 reference forward pass against the transformers 5.17 logits stored with each fixture: prefill
// logits at every prompt position, then teacher-forced decode (feed decode_ids[i]; the logits that come back
// must equal decode_logits row i), max abs error ≤ 1e-4 (it reaches ~5e-6). tiny-v32 is checked twice: sparse attention (the
// indexer's top-k) against the plain goldens and dense attention against the `*_dense` goldens. Max abs errors
// are printed so drift is visible before it fails.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../engine/weights/checkpoint-node';
import { readGolden, type Golden, type GoldenSequence } from '../../engine/weights/golden';
import { maxAbsDiff } from '../support/compare';
import { FIXTURE_NAMES, fixturePath, hasIndexer, type FixtureName } from '../support/fixtures';
import { ReferenceModel, type ReferenceForwardOptions } from './forward';

const TOLERANCE = 1e-4;

interface Mode {
  label: string;
  opts: ReferenceForwardOptions;
  prefill: (s: GoldenSequence) => Float32Array | undefined;
  decode: (s: GoldenSequence) => Float32Array | undefined;
}

const SPARSE: Mode = {
  label: 'sparse',
  opts: { attention: 'sparse' },
  prefill: (s) => s.prefillLogits,
  decode: (s) => s.decodeLogits,
};
const DENSE: Mode = {
  label: 'dense',
  opts: { attention: 'dense' },
  prefill: (s) => s.prefillLogitsDense,
  decode: (s) => s.decodeLogitsDense,
};
const PLAIN: Mode = { ...SPARSE, label: 'default' };

function modesFor(name: FixtureName): Mode[] {
  return hasIndexer(name) ? [SPARSE, DENSE] : [PLAIN];
}

/** Max abs errors of one sequence: all prefill rows, then every teacher-forced decode step. */
function compareSequence(model: ReferenceModel, s: GoldenSequence, mode: Mode): { prefill: number; decode: number } {
  const ids = Array.from(s.inputIds);
  const prefill = maxAbsDiff(model.prefill(ids, mode.opts), mode.prefill(s)!);
  const goldenDecode = mode.decode(s)!;
  let decode = 0;
  s.decodeIds.forEach((id, i) => {
    const logits = model.decode(id, mode.opts);
    decode = Math.max(decode, maxAbsDiff(logits, goldenDecode.subarray(i * s.vocab, (i + 1) * s.vocab)));
  });
  return { prefill, decode };
}

describe.each(FIXTURE_NAMES.map((name) => [name]))('reference forward vs transformers: %s', (name) => {
  let model: ReferenceModel;
  let golden: Golden;

  beforeAll(async () => {
    model = await ReferenceModel.load(await openCheckpoint(fixturePath(name)));
    golden = await readGolden(join(fixturePath(name), 'golden.safetensors'));
  });

  for (const mode of modesFor(name)) {
    it(`${mode.label}: prefill and teacher-forced decode logits within ${TOLERANCE} of every golden sequence`, () => {
      expect(golden.sequences.length).toBeGreaterThan(0);
      for (const s of golden.sequences) {
        expect(mode.prefill(s), `${s.name} has ${mode.label} prefill logits`).toBeDefined();
        const err = compareSequence(model, s, mode);
        console.log(`${name} ${s.name} T=${s.inputIds.length} D=${s.decodeIds.length} ${mode.label}: ` +
          `prefill max abs err ${err.prefill.toExponential(2)}, decode ${err.decode.toExponential(2)}`);
        expect(err.prefill, `${s.name} prefill`).toBeLessThanOrEqual(TOLERANCE);
        expect(err.decode, `${s.name} decode`).toBeLessThanOrEqual(TOLERANCE);
      }
    });
  }

  it('decode reproduces a prefill over prompt + decode ids (cache positions continue)', () => {
    const s = golden.sequences[golden.sequences.length - 1];
    const ids = [...s.inputIds, ...s.decodeIds.slice(0, 2)];
    const full = model.prefill(ids);
    model.prefill(Array.from(s.inputIds));
    const V = s.vocab;
    const stepped = model.decode(s.decodeIds[0]);
    expect(maxAbsDiff(stepped, full.subarray(s.inputIds.length * V, (s.inputIds.length + 1) * V))).toBeLessThan(1e-9);
    expect(model.length).toBe(s.inputIds.length + 1);
  });
});
