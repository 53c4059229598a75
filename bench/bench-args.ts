// Command-line options of `npm run bench` (bench.ts) parsed into BenchOptions; usage errors exit with status 2.
import { parseArgs } from 'node:util';
import type { AttentionMode } from '../engine/model/forward';
import { STORAGE_DTYPES, type StorageDtype } from '../engine/weights/quant';
import type { BenchOptions } from './run-bench';

function usage(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

function list(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

export function parseBenchArgs(args: string[], cpu: boolean): BenchOptions & { json: boolean; out?: string } {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, synthetic: { type: 'string' }, weights: { type: 'string' },
      context: { type: 'string', default: '512,2048,8192,32768' }, attention: { type: 'string', default: 'sparse,dense' },
      tokens: { type: 'string' }, 'max-rows': { type: 'string' }, 'kv-restore': { type: 'string' },
      'pipeline-depth': { type: 'string' }, 'no-kernels': { type: 'boolean', default: false }, 'no-subgroups': { type: 'boolean', default: false }, profile: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, out: { type: 'string' },
    },
  });
  if (values.model && values.synthetic) usage('give --model or --synthetic, not both');
  if (values.weights && !STORAGE_DTYPES.includes(values.weights as StorageDtype)) usage(`--weights must be one of ${STORAGE_DTYPES.join(', ')}`);
  const contexts = values.context === 'none' ? [] : list(values.context!).map(Number);
  if (contexts.some((c) => !(Number.isInteger(c) && c > 0))) usage(`--context must list positive integers (or be none), got ${values.context}`);
  const attention = list(values.attention!) as AttentionMode[];
  if (attention.some((a) => a !== 'sparse' && a !== 'dense')) usage(`--attention takes sparse and/or dense, got ${values.attention}`);
  const int = (text: string | undefined, name: string) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!(Number.isInteger(n) && n > 0)) usage(`--${name} must be a positive integer, got ${text}`);
    return n;
  };
  const depth = values['pipeline-depth'];
  if (depth !== undefined && depth !== '1' && depth !== '2') usage(`--pipeline-depth must be 1 or 2, got ${depth}`);
  return {
    model: values.model, synthetic: values.model ? undefined : values.synthetic ?? 'v2-lite-r16',
    weights: values.weights as StorageDtype | undefined, contexts, attention,
    decodeTokens: int(values.tokens, 'tokens') ?? (cpu ? 4 : 32), kernels: !values['no-kernels'],
    kvRestore: int(values['kv-restore'], 'kv-restore') ?? (values.model ? 4000 : undefined),
    maxRows: int(values['max-rows'], 'max-rows'), profile: values.profile,
    pipelineDepth: depth === undefined ? undefined : (Number(depth) as 1 | 2), json: values.json!, out: values.out,
  };
}
