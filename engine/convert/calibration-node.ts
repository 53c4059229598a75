// Calibration token ids for expert reduction, read in Node from a file: a `.json` holding an array of token-id
// arrays, or `{ "sequences": [[...], ...] }`; or a `golden.safetensors` (each sequence's prompt ids followed by its
// decode ids, the tokens the model saw). Ids are checked against the vocabulary when `vocabSize` is given.
// Plain-text calibration needs the checkpoint's tokenizer, which the engine does not have yet: tokenize elsewhere
// and pass ids.
import { readFileSync } from 'node:fs';
import { badCheckpoint } from '../errors';
import { readGolden } from '../weights/golden';
import { checkTokenIds } from './routing-statistics';

function sequencesFromJson(path: string): number[][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw badCheckpoint(path, 'a readable JSON file', String(error instanceof Error ? error.message : error));
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { sequences?: unknown } | null)?.sequences;
  const valid = Array.isArray(list) && list.every((ids) => Array.isArray(ids) && ids.every((id) => typeof id === 'number'));
  if (!valid) {
    throw badCheckpoint(path, 'an array of token-id arrays, or {"sequences": [[id, ...], ...]}', 'another JSON shape',
      'Tokenize the calibration text first; plain text is not supported yet.');
  }
  return list as number[][];
}

export function readCalibrationFile(path: string, vocabSize?: number): number[][] {
  let sequences: number[][];
  if (path.endsWith('.json')) sequences = sequencesFromJson(path);
  else if (path.endsWith('.safetensors')) {
    sequences = readGolden(path).sequences.map((s) => [...s.inputIds, ...s.decodeIds]);
  } else {
    throw badCheckpoint(path, 'a .json file of token ids or a golden .safetensors file', 'another file type',
      'Plain-text calibration needs a tokenizer, which is not available yet: pass token ids as JSON.');
  }
  checkTokenIds(sequences, vocabSize ?? Number.MAX_SAFE_INTEGER, path);
  return sequences;
}
