// `npm run verify -- --checkpoint DIR [--golden FILE] [--weights f32|f16] [--attention sparse|dense]`
// Loads a Hugging Face DeepSeek checkpoint (or a model package: DIR holds manifest.json; then --golden is required
// and the weight dtype is the package's), runs its golden sequences on WebGPU (Dawn; SwiftShader when there is
// no GPU) and prints, as its last line, one JSON object with the agreement figures. Exit 0 only when it passes.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { isEngineError } from '../errors';
import { createNodeDevice } from '../gpu/node-gpu';
import { openCheckpoint } from '../weights/checkpoint-node';
import { verifyCheckpoint } from './verification';
import { UsageError } from '../convert/usage-error';
import { isPackageDir, openPackageForVerify } from './verify-package';

const USAGE = 'usage: npm run verify -- --checkpoint DIR [--golden FILE] [--weights f32|f16] [--attention sparse|dense]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      checkpoint: { type: 'string' },
      golden: { type: 'string' },
      weights: { type: 'string' },
      attention: { type: 'string', default: 'sparse' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.checkpoint) return usageError('--checkpoint DIR is required');
  if (values.weights !== undefined && values.weights !== 'f32' && values.weights !== 'f16') return usageError(`--weights must be f32 or f16, not "${values.weights}"`);
  if (values.attention !== 'sparse' && values.attention !== 'dense') return usageError(`--attention must be sparse or dense, not "${values.attention}"`);
  const pkg = (await isPackageDir(values.checkpoint)) ? await openPackageForVerify(values.checkpoint, values.golden, values.weights) : undefined;
  const source = pkg?.source ?? (await openCheckpoint(values.checkpoint));
  const weights = pkg?.weights ?? (values.weights as 'f32' | 'f16' | undefined) ?? 'f32';
  const { device, adapterInfo } = await createNodeDevice();
  console.error(`verify: ${source.description} on ${adapterInfo}, weights ${weights}, attention ${source.config.indexer ? values.attention : 'dense (no DSA indexer)'}`);
  const report = await verifyCheckpoint(device, {
    source,
    goldenPath: values.golden ?? join(values.checkpoint, 'golden.safetensors'),
    weights,
    attention: values.attention,
  });
  console.log(JSON.stringify(pkg ? { ...report, package: pkg.report } : report));
  return report.pass ? 0 : 1;
}

function usageError(message: string): number {
  console.error(`verify: ${message}\n${USAGE}`);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof UsageError) console.error(`verify: ${error.message}\n${USAGE}`);
    else if (isEngineError(error)) console.error(`verify: ${error.code}: ${error.message}`);
    else console.error(error);
    process.exit(isEngineError(error) || error instanceof UsageError ? 2 : 1);
  },
);
