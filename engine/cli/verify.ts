// `npm run verify -- --checkpoint DIR [--golden FILE] [--weights f32|f16|q8|q4] [--group N]
//    [--embedding f32|f16|q8|q4] [--lm-head f32|f16|q8|q4] [--attention sparse|dense]`
// Loads a Hugging Face DeepSeek checkpoint with the weight plan those choices give (weight-plan.ts: the default
// plan of --weights plus any override), runs its golden sequences on WebGPU (Dawn; SwiftShader when there is no
// GPU) and prints, as its last line, one JSON object with the agreement figures, the plan and the bar it was
// judged against (pass-bars.ts). Exit 0 only when it passes.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { isEngineError } from '../errors';
import { createNodeDevice } from '../gpu/node-gpu';
import { openCheckpoint } from '../weights/checkpoint-node';
import { STORAGE_DTYPES, type StorageDtype } from '../weights/quant';
import { describePlan, weightPlan, type WeightPlan } from '../weights/weight-plan';
import { verifyCheckpoint } from './verification';

const USAGE = 'usage: npm run verify -- --checkpoint DIR [--golden FILE] [--weights f32|f16|q8|q4] [--group N] '
  + '[--embedding f32|f16|q8|q4] [--lm-head f32|f16|q8|q4] [--attention sparse|dense]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      checkpoint: { type: 'string' },
      golden: { type: 'string' },
      weights: { type: 'string', default: 'f32' },
      group: { type: 'string' },
      embedding: { type: 'string' },
      'lm-head': { type: 'string' },
      attention: { type: 'string', default: 'sparse' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.checkpoint) return usageError('--checkpoint DIR is required');
  let plan: WeightPlan;
  try {
    plan = planFrom(values.weights, values.group, values.embedding, values['lm-head']);
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (values.attention !== 'sparse' && values.attention !== 'dense') return usageError(`--attention must be sparse or dense, not "${values.attention}"`);
  const source = await openCheckpoint(values.checkpoint);
  const { device, adapterInfo } = await createNodeDevice();
  console.error(`verify: ${source.description} on ${adapterInfo}, weights ${describePlan(plan)}, attention ${source.config.indexer ? values.attention : 'dense (no DSA indexer)'}`);
  const report = await verifyCheckpoint(device, {
    source,
    goldenPath: values.golden ?? join(values.checkpoint, 'golden.safetensors'),
    weights: plan,
    attention: values.attention,
  });
  console.log(JSON.stringify(report));
  return report.pass ? 0 : 1;
}

function storageDtype(flag: string, value: string): StorageDtype {
  if (!(STORAGE_DTYPES as readonly string[]).includes(value)) throw new Error(`${flag} must be one of ${STORAGE_DTYPES.join(', ')}, not "${value}"`);
  return value as StorageDtype;
}

function planFrom(weights: string, group?: string, embedding?: string, lmHead?: string): WeightPlan {
  if (group !== undefined && !/^\d+$/.test(group)) throw new Error(`--group must be a positive multiple of 8, not "${group}"`);
  return weightPlan(storageDtype('--weights', weights), {
    group: group === undefined ? undefined : Number(group),
    embedding: embedding === undefined ? undefined : storageDtype('--embedding', embedding),
    lmHead: lmHead === undefined ? undefined : storageDtype('--lm-head', lmHead),
  });
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
