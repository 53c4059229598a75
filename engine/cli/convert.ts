// `npm run convert -- --from HF_DIR --out PACKAGE_DIR [--weights q4|q8|f16|f32] [--group N]
//   [--routed-experts q4|q8|f16|f32] [--experts N] [--calibration FILE] [--name NAME] [--force]`
// --routed-experts stores the routed experts (mlp.experts.*) in another format than --weights (WeightPlan.routedExperts).
// Converts a Hugging Face DeepSeek checkpoint folder into a model package (engine/convert/convert-checkpoint.ts),
// printing progress on stderr and, as its last stdout line, a JSON summary. Every input is checked before anything
// is written. Exit status: 0 done, 2 bad input (options, checkpoint, output folder), 1 anything else.
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { convertCheckpoint, type ConvertProgress } from '../convert/convert-checkpoint';
import { findLicence } from '../convert/source-files';
import { reduceCheckpointExperts } from '../convert/expert-reduction-node';
import { UsageError } from '../convert/usage-error';
import { parseCount, parseStorageDtype, runCli } from './cli-common';
import { openCheckpoint } from '../weights/checkpoint-node';
import type { TensorSource } from '../weights/tensor-source';
import { describePlan, weightPlan, type WeightPlan } from '../weights/weight-plan';

const USAGE = 'usage: npm run convert -- --from HF_DIR --out PACKAGE_DIR [--weights q4|q8|f16|f32] [--group N] '
  + '[--routed-experts q4|q8|f16|f32] [--experts N] [--calibration FILE] [--name NAME] [--force]';

interface ConvertArgs {
  from: string;
  out: string;
  plan: WeightPlan;
  experts?: number;
  calibration?: string;
  name?: string;
  force: boolean;
}


function parseConvertArgs(argv: string[]): ConvertArgs | 'help' {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        from: { type: 'string' }, out: { type: 'string' }, weights: { type: 'string', default: 'f16' },
        group: { type: 'string' }, 'routed-experts': { type: 'string' }, experts: { type: 'string' }, calibration: { type: 'string' },
        name: { type: 'string' }, force: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (!values.from) throw new UsageError('--from HF_DIR (the checkpoint folder) is required');
  if (!values.out) throw new UsageError('--out PACKAGE_DIR (where to write the package) is required');
  const weights = parseStorageDtype('--weights', values.weights);
  const group = parseCount('--group', values.group);
  if (group !== undefined && group % 8 !== 0) throw new UsageError(`--group must be a positive multiple of 8, not ${group}`);
  const routed = values['routed-experts'];
  const routedExperts = routed === undefined ? undefined : parseStorageDtype('--routed-experts', routed);
  let plan: WeightPlan;
  try {
    plan = weightPlan(weights, { group, routedExperts });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    from: values.from, out: values.out, plan, experts: parseCount('--experts', values.experts),
    calibration: values.calibration, name: values.name, force: values.force,
  };
}

// Keeping every expert needs no reduction and records `experts: null`; fewer are chosen from routing statistics
// (engine/convert/expert-reduction.ts) and the manifest records the selection: each MoE layer's kept original ids.
async function reduceExpertsForCli(source: TensorSource, keep: number, calibration: string | undefined)
  : Promise<{ source: TensorSource; experts: Record<string, unknown> | null }> {
  if (keep === source.config.nRoutedExperts) return { source, experts: null };
  const reduced = await reduceCheckpointExperts(source, keep, calibration, (line) => console.error(`convert: ${line}`));
  return { source: reduced.source, experts: { ...reduced.selection } };
}

function validateExpertCount(keep: number, source: TensorSource): void {
  const total = source.config.nRoutedExperts;
  if (keep > total) throw new UsageError(`--experts ${keep} is more than the ${total} routed experts per MoE layer of ${source.description}; pass 1..${total}`);
}

function progressPrinter(): (p: ConvertProgress) => void {
  let lastPercent = -1;
  const size = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`);
  return (p) => {
    const percent = Math.floor((100 * p.bytesDone) / p.bytesTotal);
    if (percent === lastPercent || (!process.stderr.isTTY && percent % 10 !== 0 && percent !== 100)) return;
    lastPercent = percent;
    const line = `convert: ${p.tensorsDone}/${p.tensorsTotal} tensors, ${size(p.bytesDone)} of ${size(p.bytesTotal)} (${percent}%)`;
    process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
  };
}

async function main(): Promise<number> {
  const args = parseConvertArgs(process.argv.slice(2));
  if (args === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (args.calibration !== undefined && !(await stat(args.calibration).then((s) => s.isFile(), () => false))) {
    throw new UsageError(`--calibration ${args.calibration}: no such file; pass a text or token-id file, or omit it`);
  }
  const checkpoint = await openCheckpoint(args.from);
  const keep = args.experts ?? checkpoint.config.nRoutedExperts;
  validateExpertCount(keep, checkpoint);
  const { source, experts } = await reduceExpertsForCli(checkpoint, keep, args.calibration);
  const name = args.name ?? basename(resolve(args.from));
  console.error(`convert: ${source.description} -> ${args.out}, weights ${describePlan(args.plan)}`);
  const manifest = await convertCheckpoint(source, args.out, {
    plan: args.plan, name, licence: await findLicence(args.from), tokenizerDir: args.from, experts,
    force: args.force, onProgress: progressPrinter(),
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const bytes = manifest.shards.reduce((sum, s) => sum + s.nbytes, 0);
  console.log(JSON.stringify({ package: args.out, name, quantisation: manifest.quantisation.description,
    tensors: manifest.tensors.length, shards: manifest.shards.length, bytes, tokenizer: manifest.tokenizer }));
  return 0;
}

runCli('convert', USAGE, main);
