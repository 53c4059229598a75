// What the Node CLIs (convert, verify) share: parsing of option values into the engine's types, and the exit
// path — a UsageError or an EngineError is bad input (message, status 2), anything else a crash (status 1).
import { UsageError } from '../convert/usage-error';
import { isEngineError } from '../errors';
import { STORAGE_DTYPES, type StorageDtype } from '../weights/quant';

/** A positive integer option, or undefined when absent. */
export function parseCount(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new UsageError(`${option} must be a positive integer, not "${text}"`);
  return Number(text);
}

export function parseStorageDtype(option: string, value: string): StorageDtype {
  if (!(STORAGE_DTYPES as readonly string[]).includes(value)) {
    throw new UsageError(`${option} must be one of ${STORAGE_DTYPES.join(', ')}, not "${value}"`);
  }
  return value as StorageDtype;
}

/** Runs a CLI's `main` and exits with its status; errors are printed as `name: ...` (with `usage` after a UsageError). */
export function runCli(name: string, usage: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error) => {
      if (error instanceof UsageError) console.error(`${name}: ${error.message}\n${usage}`);
      else if (isEngineError(error)) console.error(`${name}: ${error.code}: ${error.message}`);
      else console.error(error);
      process.exit(error instanceof UsageError || isEngineError(error) ? 2 : 1);
    },
  );
}
