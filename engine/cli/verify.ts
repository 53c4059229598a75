// `npm run verify -- --checkpoint DIR [--golden FILE] [--weights f32|f16|q8|q4] [--group N]
//    [--embedding f32|f16|q8|q4] [--lm-head f32|f16|q8|q4] [--routed-experts f32|f16|q8|q4] [--attention sparse|dense]
//    [--experts N [--calibration FILE]]`
// Loads a Hugging Face DeepSeek checkpoint with the weight plan those choices give (weight-plan.ts: the default
// plan of --weights plus any override), or a model package (DIR holds manifest.json: --golden is required and the
// plan is the package's), runs the golden sequences on WebGPU (Dawn; SwiftShader when there is no GPU) and prints,
// as its last line, one JSON object with the agreement figures, the plan and the bar it was judged against
// (pass-bars.ts; a plan that mixes formats is judged by the bar of its least precise one). `--experts N` runs the checkpoint reduced to N routed experts per MoE layer
// (engine/convert/expert-reduction.ts). A model with fewer experts than its source has no bar (`pass: null`, exit
// 0 once it ran); otherwise exit 0 only when it passes.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { createNodeDevice } from '../gpu/node-gpu';
import { openCheckpoint } from '../weights/checkpoint-node';
import { describePlan, weightPlan, type WeightPlan } from '../weights/weight-plan';
import { reduceCheckpointExperts } from '../convert/expert-reduction-node';
import { UsageError } from '../convert/usage-error';
import { parseCount, parseStorageDtype, runCli } from './cli-common';
import { verifyCheckpoint } from './verification';
import { isPackageDir, openPackageForVerify } from './verify-package';

const USAGE = 'usage: npm run verify -- --checkpoint DIR [--golden FILE] [--weights f32|f16|q8|q4] [--group N] '
  + '[--embedding f32|f16|q8|q4] [--lm-head f32|f16|q8|q4] [--routed-experts f32|f16|q8|q4] [--attention sparse|dense] '
  + '[--experts N [--calibration FILE]]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      checkpoint: { type: 'string' },
      golden: { type: 'string' },
      weights: { type: 'string' },
      group: { type: 'string' },
      embedding: { type: 'string' },
      'lm-head': { type: 'string' },
      'routed-experts': { type: 'string' },
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
  if (!values.checkpoint) throw new UsageError('--checkpoint DIR is required');
  if (values.attention !== 'sparse' && values.attention !== 'dense') throw new UsageError(`--attention must be sparse or dense, not "${values.attention}"`);
  if (values.calibration && !values.experts) throw new UsageError('--calibration needs --experts N');
  const keep = parseCount('--experts', values.experts);

  const pkg = (await isPackageDir(values.checkpoint)) ? await openPackageForVerify(values.checkpoint, values.golden, values.weights) : undefined;
  if (pkg && (keep !== undefined || values.group || values.embedding || values['lm-head'] || values['routed-experts'])) {
    throw new UsageError('a package fixes its weights and experts (see its manifest); pass only --golden and --attention with it');
  }
  const plan = pkg?.plan ?? planFrom(values.weights ?? 'f32', values.group, {
    embedding: values.embedding, lmHead: values['lm-head'], routedExperts: values['routed-experts'],
  });
  const checkpoint = pkg?.source ?? (await openCheckpoint(values.checkpoint));
  const E = checkpoint.config.nRoutedExperts;
  const reduced = keep === undefined ? undefined
    : await reduceCheckpointExperts(checkpoint, keep, values.calibration, (line) => console.error(`verify: ${line}`));
  const source = reduced?.source ?? checkpoint;
  const { device, adapterInfo } = await createNodeDevice();
  console.error(`verify: ${source.description} on ${adapterInfo}, weights ${describePlan(plan)}, attention ${source.config.indexer ? values.attention : 'dense (no DSA indexer)'}`);
  const report = await verifyCheckpoint(device, {
    source,
    goldenPath: values.golden ?? join(values.checkpoint, 'golden.safetensors'),
    weights: plan,
    attention: values.attention,
    checkpointName: pkg?.checkpointName,
  });
  // Fewer experts than the source had: a different model, which no bar describes.
  const expertsDropped = (reduced ? reduced.selection.keep < E : false) || (pkg?.expertsDropped ?? false);
  const pass = expertsDropped ? null : report.pass;
  const experts = reduced ? { experts: { keep: reduced.selection.keep, of: E, method: reduced.selection.method } } : {};
  console.log(JSON.stringify({ ...report, ...experts, ...(pkg ? { package: pkg.report } : {}), pass }));
  return pass === false ? 1 : 0;
}


/** The plan of --weights with the --group and per-class format options given (option name -> its value). */
function planFrom(weights: string, group: string | undefined, formats: { embedding?: string; lmHead?: string; routedExperts?: string }): WeightPlan {
  if (group !== undefined && !/^\d+$/.test(group)) throw new UsageError(`--group must be a positive multiple of 8, not "${group}"`);
  const format = (option: string, value?: string) => (value === undefined ? undefined : parseStorageDtype(option, value));
  try {
    return weightPlan(parseStorageDtype('--weights', weights), {
      group: group === undefined ? undefined : Number(group),
      embedding: format('--embedding', formats.embedding),
      lmHead: format('--lm-head', formats.lmHead),
      routedExperts: format('--routed-experts', formats.routedExperts),
    });
  } catch (error) {
    throw error instanceof UsageError ? error : new UsageError((error as Error).message);
  }
}

runCli('verify', USAGE, main);
