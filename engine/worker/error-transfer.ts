// Engine errors keep their `code` and `details` across the worker boundary. Comlink's own "throw" handler sends
// only name/message/stack; this one sends EngineErrorInfo for EngineErrors and wraps anything else as an
// unexpected error with its message. Both sides (the worker and the UI) call installErrorTransfer() once.
import * as Comlink from 'comlink';
import type { EngineErrorCode } from '../errors';
import { EngineError } from '../errors';
import type { EngineErrorInfo } from './protocol';

const CODES: ReadonlySet<string> = new Set<EngineErrorCode>([
  'NO_WEBGPU', 'ADAPTER_LIMITS', 'QUOTA', 'NETWORK', 'INTEGRITY', 'BAD_MANIFEST', 'BAD_CHECKPOINT', 'DEVICE_LOST',
  'CONTEXT_FULL', 'ABORTED',
]);

/** The boundary form of any thrown value; an error without a known code is reported as a restartable engine failure. */
export function toErrorInfo(error: unknown): EngineErrorInfo {
  if (error instanceof EngineError) return error.toJSON();
  if (typeof error === 'object' && error !== null) {
    const { code, message, details } = error as Partial<EngineErrorInfo>;
    if (typeof code === 'string' && CODES.has(code) && typeof message === 'string') {
      return { code, message, details: typeof details === 'object' && details !== null ? details : {} };
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'DEVICE_LOST', message: `The engine failed unexpectedly (${message}). Reload the engine; your conversations are kept.`, details: { unexpected: true } };
}

/** Rebuilds an EngineError on the receiving side so `isEngineError` and `code` work there too. */
export function fromErrorInfo(info: EngineErrorInfo): EngineError {
  return new EngineError(info.code, info.message, info.details);
}

let installed = false;

export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  Comlink.transferHandlers.set('throw', {
    canHandle: (value: unknown): value is { value: unknown } => typeof value === 'object' && value !== null && isThrowWrapper(value),
    serialize: ({ value }: { value: unknown }) => [toErrorInfo(value), []],
    deserialize: (info: EngineErrorInfo) => {
      throw fromErrorInfo(info);
    },
  } as Comlink.TransferHandler<{ value: unknown }, EngineErrorInfo>);
}

/** Comlink marks thrown values with a private symbol key; its default handler recognises them the same way. */
function isThrowWrapper(value: object): boolean {
  return Object.getOwnPropertySymbols(value).some((symbol) => symbol.description === 'Comlink.thrown');
}
