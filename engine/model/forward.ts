// The DeepSeek V2/V3/V3.2 forward pass on WebGPU. Built once per model: weights uploaded, activation buffers and
// latent caches allocated, every kernel's pipeline and bind group created, and the per-step call lists fixed
// (one for dense attention, one with the DSA selection). A step — a prefill chunk of up to `maxRows` tokens or
// one decode token — is one compute pass in one command encoder and one submit; the only readback is the
// logits (or the next token id) the caller asked for. The head (final norm + lm_head, a [V, H] product that costs
// more than the rest of a small model) runs for every row, for the last row only, or not at all (LogitRows):
// generation needs only the last row of the last prompt chunk; golden tests and verify compare every row.
import type { ModelConfig } from '../config';
import { EngineError } from '../errors';
import { uploadArray } from '../gpu/buffers';
import { countDispatches, GpuContext, type KernelCall } from '../gpu/context';
import { argmax } from '../kernels/argmax';
import { embedding } from '../kernels/embedding';
import { linear } from '../kernels/linear';
import { PREFILL_ROWS, type MatvecKind } from '../kernels/matvec-shape';
import { rmsNorm } from '../kernels/rms-norm';
import type { StorageDtype } from '../weights/quant';
import type { TensorSource } from '../weights/tensor-source';
import type { WeightPlan } from '../weights/weight-plan';
import { attentionCalls } from './attention';
import { feedForwardCalls } from './feed-forward';
import { buildRopeTable } from './rope';
import { createScratch, type AttentionKernel, type Scratch } from './scratch';
import { loadModelWeights, type ModelWeights } from './weights';

export type AttentionMode = 'sparse' | 'dense';

/** Rows of a step whose logits are computed: every row, only the last (rows - 1, where the sampler reads), none. */
export type LogitRows = 'all' | 'last' | 'none';

export interface ForwardOptions {
  weights?: WeightPlan | StorageDtype; // a plan, or a format's default plan (weight-plan.ts); default 'f32'
  maxContext?: number; // default min(max_position_embeddings, 4096)
  maxRows?: number; // prefill chunk, default PREFILL_ROWS (256 on GPUs, 64 on CPU adapters)
  /** Caps one weight buffer below the device's maxStorageBufferBindingSize / maxBufferSize; bigger tensors are split
   *  by rows (split-weight.ts). For tests that force splits on an adapter with large limits. */
  maxWeightBufferBytes?: number;
  /** Attention kernel: by adapter kind unless a test picks one ('heads' on GPUs, 'per-head' on CPU adapters). */
  attentionKernel?: AttentionKernel;
  /**
   * Every kernel's thread layout as on this adapter kind, whatever the adapter is (tests run the GPU layouts —
   * packed matvec lanes, tiled matmul, fused router gate, heads attention — on CPU adapters too). Default: the
   * adapter's own kind.
   */
  kernelLayout?: MatvecKind;
  /** false: the reductions' workgroup-memory fallback where the device has subgroups (GpuContext's option). */
  subgroups?: boolean;
}

export interface StepOptions {
  /** V3.2 only: 'sparse' = DSA top-k attention (the model's index_topk), 'dense' = the indexer is ignored. */
  attention?: AttentionMode;
}

export class DeepseekForward {
  readonly config: ModelConfig;
  readonly ctx: GpuContext;
  readonly weights: ModelWeights;
  readonly scratch: Scratch;
  /** Tokens in the latent cache; the next row is at this position. */
  position = 0;
  private readonly denseCalls: KernelCall[];
  private readonly sparseCalls: KernelCall[];
  private readonly heads: Record<LogitRows, KernelCall[]>;
  private readonly argmaxCall: KernelCall;
  private readonly counter = new DispatchCounter();
  private readonly logitsStaging: GPUBuffer;

  private constructor(ctx: GpuContext, config: ModelConfig, weights: ModelWeights, scratch: Scratch, ropeTable: GPUBuffer) {
    this.ctx = ctx;
    this.config = config;
    this.weights = weights;
    this.scratch = scratch;
    [this.denseCalls, this.sparseCalls] = buildStepCalls(ctx, config, weights, scratch, ropeTable);
    this.heads = buildHeads(ctx, config, weights, scratch);
    this.argmaxCall = argmax(ctx, { logits: scratch.logits, vocab: config.vocabSize, output: scratch.nextToken });
    this.logitsStaging = ctx.device.createBuffer({
      label: 'logits_staging', size: scratch.maxRows * config.vocabSize * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  static async create(device: GPUDevice, source: TensorSource, options: ForwardOptions = {}): Promise<DeepseekForward> {
    const weights = await loadModelWeights(device, source, options.weights ?? 'f32', { maxWeightBufferBytes: options.maxWeightBufferBytes });
    return DeepseekForward.fromWeights(device, source.config, weights, options);
  }

  /** A model over weights already on the GPU (e.g. the benchmark's synthetic weights, generated there). */
  static fromWeights(device: GPUDevice, config: ModelConfig, weights: ModelWeights, options: Omit<ForwardOptions, 'weights'> = {}): DeepseekForward {
    const maxContext = options.maxContext ?? Math.min(config.maxPositionEmbeddings, 4096);
    const ctx = new GpuContext(device, { kind: options.kernelLayout, subgroups: options.subgroups });
    const maxRows = options.maxRows ?? defaultPrefillRows(device, config, PREFILL_ROWS[ctx.rowsKernel], maxContext);
    const attention = options.attentionKernel ?? (ctx.layout === 'gpu' ? 'heads' : 'per-head');
    const scratch = createScratch(device, config, maxRows, maxContext, attention, ctx.rowsKernel === 'matmul');
    const table = buildRopeTable(config, maxContext);
    const interleaved = new Float32Array(table.cos.length * 2);
    for (let i = 0; i < table.cos.length; i++) {
      interleaved[2 * i] = table.cos[i];
      interleaved[2 * i + 1] = table.sin[i];
    }
    return new DeepseekForward(ctx, config, weights, scratch, uploadArray(device, interleaved, 'rope_table'));
  }

  /** Dispatches of a decode step in `mode`, its tail (default the argmax) included (the figure to keep low). */
  dispatchesPerStep(mode: AttentionMode = 'dense', tail?: KernelCall): number {
    return countDispatches(this.stepCalls(mode, 'last', tail), 1);
  }

  /**
   * The kernel calls encodeForward records for a step in `mode` with `logitRows` and `tail` (default the argmax),
   * in order (the benchmark's per-kernel profile times them one by one; the step uniform is the caller's to write).
   */
  stepCalls(mode: AttentionMode, logitRows: LogitRows = 'last', tail?: KernelCall): KernelCall[] {
    return [...(mode === 'sparse' ? this.sparseCalls : this.denseCalls), ...this.heads[logitRows], tail ?? this.argmaxCall];
  }

  /** Compute dispatches recorded by encodeForward so far (the generation loop reports them per token). */
  get dispatches(): number {
    return this.counter.dispatches;
  }

  reset(): void {
    this.position = 0;
  }

  /** Runs the prompt through the model in chunks; returns the logits of every prompt row, [T, V]. */
  async prefill(ids: ArrayLike<number>, options: StepOptions = {}): Promise<Float32Array> {
    const vocab = this.config.vocabSize;
    const logits = new Float32Array(ids.length * vocab);
    for (let start = 0; start < ids.length; start += this.scratch.maxRows) {
      const rows = Math.min(this.scratch.maxRows, ids.length - start);
      const chunk = Array.from({ length: rows }, (_, i) => ids[start + i]);
      logits.set(await this.step(chunk, options, 'all'), start * vocab);
    }
    return logits;
  }

  /**
   * Runs the prompt through the model like prefill but computes logits only where generation needs them: none
   * for the earlier chunks, the last row of the last chunk. Returns the last prompt row's logits, [V].
   */
  async prefillLast(ids: ArrayLike<number>, options: StepOptions = {}): Promise<Float32Array> {
    if (ids.length === 0) throw new RangeError('prefillLast needs at least one token');
    const { maxRows } = this.scratch;
    const { device } = this.ctx;
    let start = 0;
    for (; ids.length - start > maxRows; start += maxRows) {
      const chunk = Array.from({ length: maxRows }, (_, i) => ids[start + i]);
      this.checkStep(chunk);
      device.queue.writeBuffer(this.scratch.tokenIds, 0, Uint32Array.from(chunk));
      const encoder = device.createCommandEncoder({ label: 'prefill' });
      this.encodeForward(encoder, chunk.length, options.attention, undefined, 'none');
      device.queue.submit([encoder.finish()]);
    }
    return this.step(Array.from({ length: ids.length - start }, (_, i) => ids[start + i]), options, 'last');
  }

  /** Feeds one token; returns the logits for the next position, [V]. */
  async decode(id: number, options: StepOptions = {}): Promise<Float32Array> {
    return this.step([id], options, 'last');
  }

  /** One step; returns the logits of every row ('all', [T, V]) or of the last row ('last', [V]). */
  private async step(ids: number[], options: StepOptions, logitRows: 'all' | 'last'): Promise<Float32Array> {
    const rows = ids.length;
    this.checkStep(ids);
    const { device } = this.ctx;
    device.queue.writeBuffer(this.scratch.tokenIds, 0, Uint32Array.from(ids));
    const encoder = device.createCommandEncoder({ label: 'step' });
    this.encodeForward(encoder, rows, options.attention, undefined, logitRows);
    const rowBytes = this.config.vocabSize * 4;
    const bytes = logitRows === 'all' ? rows * rowBytes : rowBytes;
    const from = logitRows === 'all' ? 0 : (rows - 1) * rowBytes;
    encoder.copyBufferToBuffer(this.scratch.logits, from, this.logitsStaging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await this.logitsStaging.mapAsync(GPUMapMode.READ, 0, bytes);
    const logits = new Float32Array(this.logitsStaging.getMappedRange(0, bytes).slice(0));
    this.logitsStaging.unmap();
    return logits;
  }

  /**
   * Writes the step uniform and records one forward pass over `rows` token rows whose ids are already in
   * scratch.tokenIds, at the current position; advances the position. Leaves the logits of `logitRows` in
   * scratch.logits (row t at row t; 'last': only row rows - 1 is written) and the last row's argmax in
   * scratch.nextToken — or, when `tail` is given, runs that call (e.g. the sampler) in the same pass instead of the
   * argmax. Both read row rows - 1, so with 'none' their result is meaningless (a `mark`-only tail is fine).
   * Callers submit.
   */
  encodeForward(encoder: GPUCommandEncoder, rows: number, attention?: AttentionMode, tail?: KernelCall,
    logitRows: LogitRows = 'all'): void {
    if (this.position + rows > this.scratch.maxContext) throw this.contextFull(rows);
    const sparse = this.sparseActive(this.position + rows, attention);
    this.ctx.writeStep(rows, this.position, sparse);
    const pass = encoder.beginComputePass({ label: 'forward' });
    const counted = this.counter.wrap(pass);
    for (const call of sparse ? this.sparseCalls : this.denseCalls) call.encode(counted, rows);
    for (const call of this.heads[logitRows]) call.encode(counted, rows);
    (tail ?? this.argmaxCall).encode(counted, rows);
    pass.end();
    this.position += rows;
  }

  /** DSA changes nothing while every causal key fits in index_topk, so the selection is skipped until then. */
  private sparseActive(kvLength: number, mode: AttentionMode = 'sparse'): boolean {
    const indexer = this.config.indexer;
    return mode === 'sparse' && indexer !== null && kvLength > indexer.topk;
  }

  private checkStep(ids: number[]): void {
    if (ids.length > this.scratch.maxRows) throw new RangeError(`a step holds at most ${this.scratch.maxRows} rows, got ${ids.length}`);
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) {
        throw new RangeError(`token id ${id} is outside the vocabulary [0, ${this.config.vocabSize})`);
      }
    }
  }

  private contextFull(rows: number): EngineError {
    const needed = this.position + rows;
    return new EngineError('CONTEXT_FULL',
      `The conversation needs ${needed} tokens but this model instance holds ${this.scratch.maxContext}. Start a new conversation.`,
      { needed, maxContext: this.scratch.maxContext });
  }
}

function buildStepCalls(ctx: GpuContext, config: ModelConfig, weights: ModelWeights, scratch: Scratch, ropeTable: GPUBuffer): [KernelCall[], KernelCall[]] {
  const dense: KernelCall[] = [embedding(ctx, { ids: scratch.tokenIds, table: weights.embedTokens, output: scratch.hidden })];
  const sparse: KernelCall[] = [...dense];
  const both = (...calls: KernelCall[]) => {
    dense.push(...calls);
    sparse.push(...calls);
  };
  weights.layers.forEach((layer, l) => {
    const attention = attentionCalls(ctx, config, l, layer, scratch, ropeTable);
    both(...attention.project, attention.absorb);
    sparse.push(...attention.select);
    both(...attention.attend);
    both(...feedForwardCalls(ctx, config, layer, scratch));
  });
  return [dense, sparse];
}

/** The final norm and lm_head, per LogitRows. */
function buildHeads(ctx: GpuContext, config: ModelConfig, weights: ModelWeights, scratch: Scratch): Record<LogitRows, KernelCall[]> {
  const head = (lastRow: boolean) => [
    rmsNorm(ctx, {
      dim: config.hiddenSize, eps: config.rmsNormEps, hidden: scratch.hidden, weight: weights.finalNorm,
      out: scratch.normed, lastRow,
    }),
    linear(ctx, { input: scratch.normed, weight: weights.lmHead, output: scratch.logits, lastRow }),
  ];
  return { all: head(false), last: head(true), none: [] };
}

/** The pass as kernel calls use it (setPipeline, setBindGroup, dispatchWorkgroups), counting dispatches; reused. */
class DispatchCounter implements Pick<GPUComputePassEncoder, 'setPipeline' | 'setBindGroup' | 'dispatchWorkgroups'> {
  dispatches = 0;
  private pass: GPUComputePassEncoder | null = null;

  wrap(pass: GPUComputePassEncoder): GPUComputePassEncoder {
    this.pass = pass;
    return this as unknown as GPUComputePassEncoder;
  }

  setPipeline(pipeline: GPUComputePipeline): undefined {
    return this.pass?.setPipeline(pipeline);
  }

  setBindGroup(index: number, group: GPUBindGroup | null): undefined {
    return this.pass?.setBindGroup(index, group);
  }

  dispatchWorkgroups(x: number, y?: number, z?: number): undefined {
    this.dispatches++;
    return this.pass?.dispatchWorkgroups(x, y, z);
  }
}

/**
 * Prefill rows per chunk by default: `rows`, fewer where one row's widest scratch (its logits, or with DSA its
 * indexer scores over the whole context) times the rows would not fit one storage binding of this device.
 */
export function defaultPrefillRows(device: GPUDevice, config: ModelConfig, rows: number, maxContext: number): number {
  const rowBytes = 4 * Math.max(config.vocabSize, config.indexer ? maxContext : 0);
  return Math.max(1, Math.min(rows, Math.floor(device.limits.maxStorageBufferBindingSize / rowBytes)));
}
