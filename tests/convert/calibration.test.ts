// Calibration token ids from files (engine/convert/calibration-node.ts): both JSON shapes, a golden file's
// prompt-plus-decode ids, and clear BAD_CHECKPOINT errors for other shapes, other file types and ids outside
// the vocabulary.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCalibrationFile } from '../../engine/convert/calibration-node';
import { readGolden } from '../../engine/weights/golden';
import { fixturePath } from '../support/fixtures';
import { expectEngineError } from '../support/engine-errors';

const dir = mkdtempSync(join(tmpdir(), 'calibration-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}


const expectBadCheckpoint = (run: () => unknown, fragment: string) => expectEngineError(run, 'BAD_CHECKPOINT', fragment);

describe('readCalibrationFile', () => {
  it('reads an array of id arrays and {sequences: [...]}', () => {
    expect(readCalibrationFile(file('a.json', '[[1, 2, 3], [4]]'), 10)).toEqual([[1, 2, 3], [4]]);
    expect(readCalibrationFile(file('b.json', '{"sequences": [[5, 6]]}'), 10)).toEqual([[5, 6]]);
  });

  it('reads a golden file as each sequence\'s prompt ids then decode ids', () => {
    const path = join(fixturePath('tiny-v3-fp8'), 'golden.safetensors');
    const golden = readGolden(path);
    const sequences = readCalibrationFile(path, 640);
    expect(sequences.length).toBe(golden.sequences.length);
    expect(sequences[0]).toEqual([...golden.sequences[0].inputIds, ...golden.sequences[0].decodeIds]);
  });

  it('rejects ids outside the vocabulary, naming the sequence and position', () => {
    expectBadCheckpoint(() => readCalibrationFile(file('c.json', '[[1, 2], [3, 10]]'), 10), 'sequence 1, position 1: expected a token id in [0, 10)');
    expectBadCheckpoint(() => readCalibrationFile(file('d.json', '[[1.5]]'), 10), 'found 1.5');
  });

  it('rejects other JSON shapes, empty input, text files', () => {
    expectBadCheckpoint(() => readCalibrationFile(file('e.json', '{"text": "hello"}')), 'an array of token-id arrays');
    expectBadCheckpoint(() => readCalibrationFile(file('f.json', '[]')), 'at least one token sequence');
    expectBadCheckpoint(() => readCalibrationFile(file('g.json', '[[]]')), 'at least one token id');
    expectBadCheckpoint(() => readCalibrationFile(file('h.txt', 'hello')), 'tokenizer');
    expectBadCheckpoint(() => readCalibrationFile(file('i.json', '[[1,')), 'a readable JSON file');
  });
});
