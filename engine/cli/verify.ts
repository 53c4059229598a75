// `npm run verify -- --checkpoint DIR [--golden FILE] [--weights f32|f16] [--attention sparse|dense]
//   [--experts N [--calibration FILE]]`
// Loads a Hugging Face DeepSeek checkpoint (or a model package: DIR holds manifest.json; then --golden is required
// and the weight format is the package's), runs its golden sequences on WebGPU (Dawn; SwiftShader when there is
// no GPU) and prints, as its last line, one JSON object with the agreement figures. Exit 0 only when it passes.
// `--experts N` runs the model reduced to N routed experts per MoE layer (engine/convert/expert-reduction.ts);
// with N < E there is no pass bar (`pass: null`, exit 0 once it ran).
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { isEngineError } from '../errors';
import { createNodeDevice } from '../gpu/node-gpu';
import { openCheckpoint } from '../weights/checkpoint-node';
import { verifyCheckpoint } from './verification';
import { reduceCheckpointExperts } from '../convert/expert-reduction-node';
import { UsageError } from '../convert/usage-error';
import type { TensorSource } from '../weights/tensor-source';
import { isPackageDir, openPackageForVerify } from './verify-package';

const USAGE = 'usage: npm run verify -- --checkpoint DIR [--golden FILE] [--weights f32|f16] [--attention sparse|dense] [--experts N [--calibration FILE]]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      checkpoint: { type: 'string' },
      golden: { type: 'string' },
      weights: { type: 'string' },
      attention: { type: 'string', default: 'sparse' },
      experts: { type: 'string' },
      calibration: { type: 'string' },
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
  if (values.calibration && !values.experts) return usageError('--calibration needs --experts N');
  const pkg = (await isPackageDir(values.checkpoint)) ? await openPackageForVerify(values.checkpoint, values.golden, values.weights) : undefined;
  if (pkg && values.experts) return usageError('--experts applies to a checkpoint; a package already holds its experts (see its manifest)');
  const checkpoint = pkg?.source ?? (await openCheckpoint(values.checkpoint));
  const weights = pkg?.weights ?? (values.weights as 'f32' | 'f16' | undefined) ?? 'f32';
  const reduction = values.experts ? await reduce(checkpoint, Number(values.experts), values.calibration) : undefined;
  const source = reduction?.source ?? checkpoint;
  const { device, adapterInfo } = await createNodeDevice();
  console.error(`verify: ${source.description} on ${adapterInfo}, weights ${weights}, attention ${source.config.indexer ? values.attention : 'dense (no DSA indexer)'}`);
  const report = await verifyCheckpoint(device, {
    source,
    goldenPath: values.golden ?? join(values.checkpoint, 'golden.safetensors'),
    weights,
    attention: values.attention,
  });
  if (!reduction) {
    console.log(JSON.stringify(pkg ? { ...report, package: pkg.report } : report));
    return report.pass ? 0 : 1;
  }
  const E = checkpoint.config.nRoutedExperts;
  const pass = reduction.keep < E ? null : report.pass; // a model with fewer experts has no bar to meet
  console.log(JSON.stringify({ ...report, experts: { keep: reduction.keep, of: E, method: reduction.method }, pass }));
  return pass === false ? 1 : 0;
}

/** The checkpoint reduced to `keep` routed experts, chosen from calibration ids or by the heuristic. */
async function reduce(checkpoint: TensorSource, keep: number, calibrationPath?: string) {
  const { source, selection } = await reduceCheckpointExperts(checkpoint, keep, calibrationPath, (line) => console.error(`verify: ${line}`));
  return { source, keep, method: selection.method };
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
