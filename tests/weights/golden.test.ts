// readGolden on the fixtures' golden.safetensors files, and its numeric ordering of sequence names.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGolden } from '../../engine/weights/golden';
import { fixturePath } from '../support/fixtures';
import { writeSafetensors, type RawTensor } from '../support/safetensors-writer';

describe('readGolden', () => {
  it('reads tiny-v2: three sequences of 1, 9 and 48 prompt ids, 6 decode ids, vocab 512', async () => {
    const { sequences } = readGolden(join(fixturePath('tiny-v2'), 'golden.safetensors'));
    expect(sequences.map((s) => s.name)).toEqual(['seq0', 'seq1', 'seq2']);
    expect(sequences.map((s) => s.inputIds.length)).toEqual([1, 9, 48]);
    for (const s of sequences) {
      expect(s.vocab).toBe(512);
      expect(s.decodeIds.length).toBe(6);
      expect(s.prefillLogits.length).toBe(s.inputIds.length * 512);
      expect(s.decodeLogits.length).toBe(6 * 512);
      expect(s.prefillLogitsDense).toBeUndefined();
      expect(s.inputIds.every((id) => id >= 0 && id < 512)).toBe(true);
      expect(s.prefillLogits.every(Number.isFinite)).toBe(true);
    }
  });

  it('reads the dense-attention logits of tiny-v32 and they differ from the sparse ones past index_topk', async () => {
    const { sequences } = readGolden(join(fixturePath('tiny-v32'), 'golden.safetensors'));
    expect(sequences.map((s) => s.inputIds.length)).toEqual([4, 30, 64]);
    const [short, , long] = sequences;
    expect(short.prefillLogitsDense).toEqual(short.prefillLogits); // 4 keys <= index_topk 8: dense anyway
    expect(long.decodeLogitsDense!.length).toBe(6 * 512);
    expect(long.prefillLogitsDense).not.toEqual(long.prefillLogits);
  });

  it('sorts sequences by their number, not as strings', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'golden-'));
    try {
      const tensors = new Map<string, RawTensor>();
      for (const n of [10, 2]) {
        const ids = new Int32Array([n, n + 1]);
        tensors.set(`seq${n}.input_ids`, { dtype: 'I32', shape: [2], bytes: new Uint8Array(ids.buffer) });
        tensors.set(`seq${n}.decode_ids`, { dtype: 'I32', shape: [1], bytes: new Uint8Array(new Int32Array([n]).buffer) });
        const logits = (rows: number) => new Uint8Array(new Float32Array(rows * 3).fill(n).buffer);
        tensors.set(`seq${n}.prefill_logits`, { dtype: 'F32', shape: [2, 3], bytes: logits(2) });
        tensors.set(`seq${n}.decode_logits`, { dtype: 'F32', shape: [1, 3], bytes: logits(1) });
      }
      const path = join(dir, 'golden.safetensors');
      await writeFile(path, writeSafetensors(tensors));
      const { sequences } = readGolden(path);
      expect(sequences.map((s) => s.name)).toEqual(['seq2', 'seq10']);
      expect([...sequences[1].inputIds]).toEqual([10, 11]);
      expect(sequences[0].vocab).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
