// `npm run verify -- --checkpoint DIR [--golden FILE] [--weights f32|f16] [--attention sparse|dense]`
// Loads a Hugging Face DeepSeek checkpoint, runs its golden sequences on WebGPU (Dawn; SwiftShader when there is
// no GPU) and prints, as its last line, one JSON object with the agreement figures. Exit 0 only when it passes.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { isEngineError } from '../errors';
import { createNodeDevice } from '../gpu/node-gpu';
import { openCheckpoint } from '../weights/checkpoint-node';
import { verifyCheckpoint } from './verification';

const USAGE = 'usage: npm run verify -- --checkpoint DIR [--golden FILE] [--weights f32|f16] [--attention sparse|dense]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      checkpoint: { type: 'string' },
      golden: { type: 'string' },
      weights: { type: 'string', default: 'f32' },
      attention: { type: 'string', default: 'sparse' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.checkpoint) return usageError('--checkpoint DIR is required');
  if (values.weights !== 'f32' && values.weights !== 'f16') return usageError(`--weights must be f32 or f16, not "${values.weights}"`);
  if (values.attention !== 'sparse' && values.attention !== 'dense') return usageError(`--attention must be sparse or dense, not "${values.attention}"`);
  const source = await openCheckpoint(values.checkpoint);
  const { device, adapterInfo } = await createNodeDevice();
  console.error(`verify: ${source.description} on ${adapterInfo}, weights ${values.weights}, attention ${source.config.indexer ? values.attention : 'dense (no DSA indexer)'}`);
  const report = await verifyCheckpoint(device, {
    source,
    goldenPath: values.golden ?? join(values.checkpoint, 'golden.safetensors'),
    weights: values.weights,
    attention: values.attention,
  });
  console.log(JSON.stringify(report));
  return report.pass ? 0 : 1;
}

function usageError(message: string): number {
  console.error(`verify: ${message}\n${USAGE}`);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    if (isEngineError(error)) console.error(`verify: ${error.code}: ${error.message}`);
    else console.error(error);
    process.exit(isEngineError(error) ? 2 : 1);
  },
);
