// `npm run bench` as a function (the CLI in bench.ts and the CI smoke test call it): loads a model package or
// builds a synthetic model on the GPU, measures the adapter's streaming-read ceiling, fills the latent caches with
// random rows, then per context length and attention mode runs prefill + decode through the generation loop
// (decode-runs.ts), times each decode matrix kernel at the model's shapes (kernel-shapes.ts), and optionally
// issue 6's restore-vs-prefill line (kv-restore-measure.ts). Everything it reports comes from this one run.
import type { ModelConfig } from '../engine/config';
import { readF32 } from '../engine/gpu/buffers';
import { PIPELINE_DEPTH } from '../engine/generate/generator';
import type { AttentionMode } from '../engine/model/forward';
import { DeepseekForward } from '../engine/model/forward';
import { openPackage } from '../engine/package/package-node';
import type { StorageDtype } from '../engine/weights/quant';
import { describePlan, weightPlan, type WeightPlan } from '../engine/weights/weight-plan';
import { attentionModes, decodeRun, fillCaches, warmUp, type DecodeRun } from './decode-runs';
import { streamingCeiling } from './gpu-timing';
import { profileStep, type StepProfile } from './call-profile';
import { kernelFigures, type KernelFigure } from './kernel-shapes';
import { measureKvRestore, type KvRestoreResult } from './kv-restore-measure';
import { syntheticConfig } from './synthetic-configs';
import { syntheticWeights } from './synthetic-weights';

export interface BenchOptions {
  model?: string; // a model package folder
  synthetic?: string; // or a synthetic model's name (synthetic-configs.ts)
  weights?: StorageDtype; // default: the package's plan, q4 for synthetic models
  contexts: number[];
  attention: AttentionMode[];
  decodeTokens: number;
  kernels: boolean;
  kvRestore?: number; // tokens
  maxRows?: number; // prefill chunk
  profile?: boolean; // per-kernel time of a decode step per context and mode, and of one prefill chunk
  pipelineDepth?: 1 | 2; // decode steps in flight (generate()'s pipelineDepth; default its PIPELINE_DEPTH)
}

export interface BenchReport {
  adapter: string;
  /** Whether the kernels' reductions used subgroup operations (engine/gpu/subgroups.ts). */
  subgroups: boolean;
  /** Decode steps in flight when an id was read back. */
  pipelineDepth: number;
  model: string;
  weights: string;
  config: Pick<ModelConfig, 'numLayers' | 'hiddenSize' | 'numHeads' | 'kvLoraRank' | 'qLoraRank' | 'nRoutedExperts' | 'numExpertsPerTok' | 'vocabSize'>
    & { indexTopk: number | null };
  weightBytes: number; // all weights on the GPU
  ceilingGBps: number;
  runs: DecodeRun[];
  skippedContexts: number[]; // beyond the model's max_position_embeddings
  kernels: KernelFigure[];
  kvRestore: KvRestoreResult | null;
  profiles: StepProfile[];
  /** Whether the last decode step's logits were all finite (the synthetic weights keep activations sane). */
  logitsFinite: boolean;
}

export interface BenchDevice {
  device: GPUDevice;
  adapterInfo: string;
  cpu: boolean;
  subgroups: boolean;
}

async function loadModel(gpu: BenchDevice, options: BenchOptions, maxContextWanted: number) {
  const limit = (config: ModelConfig) => Math.min(maxContextWanted, config.maxPositionEmbeddings);
  if (options.model) {
    const { manifest, source } = await openPackage(options.model);
    const plan: WeightPlan = options.weights ? weightPlan(options.weights) : manifest.quantisation.plan;
    const maxContext = limit(source.config);
    const model = await DeepseekForward.create(gpu.device, source, { weights: plan, maxContext, maxRows: options.maxRows });
    return { model, name: manifest.name, plan };
  }
  const name = options.synthetic ?? 'tiny';
  const config = syntheticConfig(name);
  const plan = weightPlan(options.weights ?? 'q4');
  const weights = await syntheticWeights(gpu.device, config, plan);
  const model = DeepseekForward.fromWeights(gpu.device, config, weights, { maxContext: limit(config), maxRows: options.maxRows });
  return { model, name: `synthetic ${name}`, plan };
}

export async function runBench(gpu: BenchDevice, options: BenchOptions, progress: (message: string) => void = () => {}): Promise<BenchReport> {
  const headroom = options.decodeTokens + 2;
  const wanted = Math.max(...options.contexts.map((c) => c + headroom), (options.kvRestore ?? 0) + 1, 1);
  const { model, name, plan } = await loadModel(gpu, options, wanted);
  const { config } = model;
  progress(`${name} loaded: ${describePlan(plan)}, ${(model.weights.bytes / 2 ** 20).toFixed(0)} MiB of weights, maxContext ${model.scratch.maxContext}`);

  await fillCaches(model);
  const modes = attentionModes(config, options.attention);
  await warmUp(model, modes);
  progress('caches filled, paths warmed up');
  // Measured once the GPU has been busy for a while: taken right after loading, an H100 measured 1,719 GB/s in a
  // run whose lm_head then read at 2,441 GB/s (its clocks had not come up yet).
  const ceilingGBps = await streamingCeiling(gpu.device, gpu.cpu ? 16 << 20 : 1 << 30, gpu.cpu ? 2 : 50);
  progress(`streaming-read ceiling ${ceilingGBps.toFixed(1)} GB/s`);

  const contexts = options.contexts.filter((c) => c + headroom <= model.scratch.maxContext);
  const runs: DecodeRun[] = [];
  for (const context of contexts) {
    for (const attention of modes) {
      const run = await decodeRun(model, context, attention, options.decodeTokens, ceilingGBps, options.pipelineDepth);
      runs.push(run);
      progress(`context ${context} ${attention}: prefill ${run.prefillTokensPerS.toFixed(0)} tok/s, decode ${run.decodeMsPerToken.toFixed(2)} ms/token`);
    }
  }
  const logits = await readF32(gpu.device, model.scratch.logits, config.vocabSize);
  const logitsFinite = logits.every(Number.isFinite);
  // One decode step leaves real routed expert ids in the scratch for the expert kernels' probes.
  const kernels = options.kernels ? await kernelFigures(model, ceilingGBps, gpu.cpu ? 2 : 100) : [];
  if (options.kernels) progress(`timed ${kernels.length} kernels`);
  const profiles: StepProfile[] = [];
  if (options.profile) {
    const reps = gpu.cpu ? 1 : 200;
    for (const context of contexts) for (const attention of modes) profiles.push(await profileStep(model, context, 1, attention, reps));
    // One prefill chunk ending at the first context (or as close as the cache allows), never before position 0.
    const chunk = Math.min(model.scratch.maxRows, model.scratch.maxContext);
    const at = Math.max(0, Math.min((contexts[0] ?? chunk) - chunk, model.scratch.maxContext - chunk));
    profiles.push(await profileStep(model, at, chunk, modes[0] ?? 'dense', gpu.cpu ? 1 : 10));
    model.reset();
    progress(`profiled ${profiles.length} steps`);
  }
  const kvRestore = options.kvRestore ? await measureKvRestore(model, options.kvRestore, progress) : null;

  return {
    adapter: gpu.adapterInfo, subgroups: gpu.subgroups, pipelineDepth: options.pipelineDepth ?? PIPELINE_DEPTH, model: name, weights: describePlan(plan),
    config: {
      numLayers: config.numLayers, hiddenSize: config.hiddenSize, numHeads: config.numHeads, kvLoraRank: config.kvLoraRank,
      qLoraRank: config.qLoraRank, nRoutedExperts: config.nRoutedExperts, numExpertsPerTok: config.numExpertsPerTok,
      vocabSize: config.vocabSize, indexTopk: config.indexer?.topk ?? null,
    },
    weightBytes: model.weights.bytes, ceilingGBps, runs,
    skippedContexts: options.contexts.filter((c) => !contexts.includes(c)), kernels, kvRestore, profiles, logitsFinite,
  };
}
