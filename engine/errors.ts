// Errors that cross from the engine to the UI or a CLI. They are told apart by a stable `code`, never by class,
// because they cross the worker boundary as plain objects. Each message says what was wrong and what to do.

export type EngineErrorCode =
  | 'NO_WEBGPU'
  | 'ADAPTER_LIMITS'
  | 'QUOTA'
  | 'NETWORK'
  | 'INTEGRITY'
  | 'BAD_MANIFEST'
  | 'BAD_CHECKPOINT'
  | 'DEVICE_LOST'
  | 'CONTEXT_FULL'
  | 'ABORTED';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: EngineErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.details = details;
  }

  /** Plain-object form for postMessage / Comlink. */
  toJSON(): { code: EngineErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** A checkpoint problem: names the tensor or field and what was expected versus found. */
export function badCheckpoint(subject: string, expected: string, found: string, hint = ''): EngineError {
  const tail = hint ? ` ${hint}` : '';
  return new EngineError(
    'BAD_CHECKPOINT',
    `${subject}: expected ${expected}, found ${found}.${tail}`,
    { subject, expected, found },
  );
}

export function isEngineError(e: unknown, code?: EngineErrorCode): e is EngineError {
  return e instanceof EngineError && (code === undefined || e.code === code);
}

/** A package manifest problem: names the field (e.g. `tensors[3].offset`) and what was expected versus found. */
export function badManifest(where: string, field: string, expected: string, found: string): EngineError {
  return new EngineError(
    'BAD_MANIFEST',
    `${where}: field "${field}": expected ${expected}, found ${found}. Re-convert the model with npm run convert.`,
    { where, field, expected, found },
  );
}

/** Stored bytes that do not match their recorded hash or size: names the file and what to do. */
export function integrityError(file: string, expected: string, found: string): EngineError {
  return new EngineError(
    'INTEGRITY',
    `${file}: expected ${expected}, found ${found}. The file is damaged or incomplete; copy or download it again.`,
    { file, expected, found },
  );
}
