// Asserting that a call throws an EngineError of a given code whose message names the problem.
import { expect } from 'vitest';
import { isEngineError, type EngineErrorCode } from '../../engine/errors';

export function expectEngineError(run: () => unknown, code: EngineErrorCode, fragment: string): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(isEngineError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  expect((error as Error).message).toContain(fragment);
}
