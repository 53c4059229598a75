// Calibration token ids from files (engine/convert/calibration-node.ts): both JSON shapes, a golden file's
// prompt-plus-decode ids, and clear BAD_CHECKPOINT errors for other shapes, other file types and ids outside
// the vocabulary.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCalibrationFile } from '../../engine/convert/calibration-node';
import { isEngineError } from '../../engine/errors';
import { readGolden } from '../../engine/weights/golden';
import { fixturePath } from '../support/fixtures';

const dir = mkdtempSync(join(tmpdir(), 'calibration-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function expectBad(run: () => unknown, fragment: string): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(isEngineError(error, 'BAD_CHECKPOINT')).toBe(true);
  expect((error as Error).message).toContain(fragment);
}

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
    expectBad(() => readCalibrationFile(file('c.json', '[[1, 2], [3, 10]]'), 10), 'sequence 1, position 1: expected a token id in [0, 10)');
    expectBad(() => readCalibrationFile(file('d.json', '[[1.5]]'), 10), 'found 1.5');
  });

  it('rejects other JSON shapes, empty input, text files', () => {
    expectBad(() => readCalibrationFile(file('e.json', '{"text": "hello"}')), 'an array of token-id arrays');
    expectBad(() => readCalibrationFile(file('f.json', '[]')), 'at least one token sequence');
    expectBad(() => readCalibrationFile(file('g.json', '[[]]')), 'at least one token id');
    expectBad(() => readCalibrationFile(file('h.txt', 'hello')), 'tokenizer');
    expectBad(() => readCalibrationFile(file('i.json', '[[1,')), 'a readable JSON file');
  });
});
