// The generation loop: prefill the new prompt tokens from the model's current cache position (in chunks of
// scratch.maxRows; lm_head only for the last row of the last chunk), then decode one token per submit with the
// sampler (engine/kernels/sample.ts) in the same compute pass as the forward step. The sampler writes its pick into
// scratch.tokenIds, so steps n+1 and n+2 are encoded and submitted before step n's id is read (pipelineDepth); ids
// come back behind through a small ring of 4-byte staging buffers — the only readback. Stops at a stop id,
// maxNewTokens, a full context or an abort; the steps in flight at a stop or abort are discarded by rolling the
// position back. In every case every returned id but the last is in the cache, so a follow-up call passes the last
// id plus the new message as its prompt. resetSeenTokens re-marks the kept ids after a caller rolls the position
// back to a shorter prefix (the chat session does at every turn; it also drops the ids that discarded steps marked
// seen, which with two steps in flight include one id sampled after the last returned one).
import { EngineError } from '../errors';
import { checkSamplingSettings, createSampler, type Sampler, type SamplingSettings } from '../kernels/sample';
import type { AttentionMode, DeepseekForward } from '../model/forward';

export interface GenerateOptions {
  maxNewTokens: number;
  onToken?: (id: number) => void;
  signal?: AbortSignal;
  stopTokenIds?: number[];
  attention?: AttentionMode;
  /**
   * Decode steps in flight when an id is read back (default PIPELINE_DEPTH, at most 2): 1 submits step n + 1 before
   * reading step n's id; 2 also step n + 2, so the GPU still has a step queued while the CPU waits for the readback
   * and encodes (what bounds small models, whose steps are short).
   */
  pipelineDepth?: 1 | 2;
}

/** Decode steps generate() keeps in flight; a stop or an abort discards up to this many. */
export const PIPELINE_DEPTH = 2;

export interface DecodePoint {
  contextTokens: number; // cache length when the token was sampled
  ms: number; // time since the previous token arrived
}

export interface GenerationStats {
  promptTokens: number;
  prefillMs: number; // first prefill submit → first token read back (its sample runs with the last chunk)
  decodeTokens: number; // tokens produced by decode steps (all but the first)
  decodeMs: number; // first token → last token
  timeToFirstTokenMs: number; // generate() called → first token delivered
  contextTokens: number; // cache position at the end
  submitsPerDecodeToken: number;
  dispatchesPerDecodeToken: number;
  /** CPU time spent encoding and submitting a decode step, per step (the GPU runs the previous step meanwhile). */
  encodeMsPerDecodeToken: number;
  decodeSeries: DecodePoint[];
}

export type StopReason = 'stop' | 'length' | 'context' | 'abort';

export interface GenerationResult {
  ids: number[];
  stopReason: StopReason;
  stats: GenerationStats;
}

const RING = 3;

/** Per-model objects built once and reused by every call: the sampler and the readback ring. */
interface LoopState {
  sampler: Sampler;
  ring: GPUBuffer[];
}

const STATES = new WeakMap<DeepseekForward, LoopState>();

/** The sampler generate() ends each step with on this model (made on first use). */
export function generationSampler(model: DeepseekForward): Sampler {
  return loopState(model).sampler;
}

function loopState(model: DeepseekForward): LoopState {
  let state = STATES.get(model);
  if (!state) {
    const { scratch } = model;
    const sampler = createSampler(model.ctx, { logits: scratch.logits, vocab: model.config.vocabSize, tokenIds: scratch.tokenIds });
    const ring = Array.from({ length: RING }, (_, i) => model.ctx.device.createBuffer({
      label: `sampled_readback.${i}`, size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    }));
    state = { sampler, ring };
    STATES.set(model, state);
  }
  return state;
}

function checkRequest(model: DeepseekForward, prompt: number[], options: GenerateOptions): void {
  const vocab = model.config.vocabSize;
  if (prompt.length === 0) throw new RangeError('generate needs at least one prompt token (after a reply, pass its last id first)');
  for (const id of prompt) {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${vocab})`);
  }
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 1) {
    throw new RangeError(`maxNewTokens must be an integer >= 1, got ${options.maxNewTokens}`);
  }
  const needed = model.position + prompt.length;
  if (needed > model.scratch.maxContext) {
    throw new EngineError('CONTEXT_FULL',
      `The conversation needs ${needed} tokens but this model instance holds ${model.scratch.maxContext}. Start a new conversation.`,
      { needed, maxContext: model.scratch.maxContext });
  }
}

/** Prompt chunks, one submit each: earlier chunks only mark their ids as seen; the last samples the first token. */
function submitPrompt(model: DeepseekForward, sampler: Sampler, readback: GPUBuffer, promptIds: number[],
  settings: SamplingSettings, attention: AttentionMode | undefined): void {
  const { device } = model.ctx;
  const { scratch } = model;
  const newConversation = model.position === 0;
  for (let start = 0; start < promptIds.length; start += scratch.maxRows) {
    const chunk = promptIds.slice(start, start + scratch.maxRows);
    const last = start + chunk.length >= promptIds.length;
    device.queue.writeBuffer(scratch.tokenIds, 0, Uint32Array.from(chunk));
    const encoder = device.createCommandEncoder({ label: 'prefill' });
    if (start === 0 && newConversation) sampler.clearSeen(encoder);
    if (last) sampler.writeSettings(settings, model.position + chunk.length);
    model.encodeForward(encoder, chunk.length, attention, last ? sampler.sample : sampler.mark, last ? 'last' : 'none');
    if (last) encoder.copyBufferToBuffer(sampler.sampled, 0, readback, 0, 4);
    device.queue.submit([encoder.finish()]);
  }
}

/**
 * Generates up to maxNewTokens ids after `promptIds`, which continue the conversation at model.position (call
 * model.reset() for a new one). The sampler's draw counter is the cache length, so a seed fixes the ids.
 */
export async function generate(model: DeepseekForward, promptIds: number[], settings: SamplingSettings,
  options: GenerateOptions): Promise<GenerationResult> {
  const called = performance.now();
  checkRequest(model, promptIds, options);
  checkSamplingSettings(settings);
  const { device } = model.ctx;
  const { scratch } = model;
  const { sampler, ring } = loopState(model);
  const stop = new Set(options.stopTokenIds ?? []);
  const { attention, signal } = options;
  const ids: number[] = [];
  const series: DecodePoint[] = [];
  const stats: GenerationStats = {
    promptTokens: promptIds.length, prefillMs: 0, decodeTokens: 0, decodeMs: 0, timeToFirstTokenMs: 0,
    contextTokens: model.position, submitsPerDecodeToken: 0, dispatchesPerDecodeToken: 0, encodeMsPerDecodeToken: 0,
    decodeSeries: series,
  };
  if (signal?.aborted) return { ids, stopReason: 'abort', stats };

  const prefillStart = performance.now();
  submitPrompt(model, sampler, ring[0], promptIds, settings, attention);

  // Token i is read from ring[i % RING]; the step fed with token i samples token i + 1 into ring[(i + 1) % RING].
  // Before token i is read, the steps fed with tokens up to i + depth - 1 are submitted (while the ring has room).
  const depth = Math.min(options.pipelineDepth ?? PIPELINE_DEPTH, RING - 1);
  const base = model.position; // cache length once the prompt is in
  let stopReason: StopReason = 'length';
  let blocked: StopReason | null = null; // why no further step was submitted
  let submitted = 0; // decode steps submitted: step j is fed token j
  let decodeSubmits = 0;
  let decodeDispatches = 0;
  let encodeMs = 0;
  let previousAt = 0;
  const submitUpTo = (last: number) => {
    while (submitted <= last && blocked === null) {
      if (submitted + 1 >= options.maxNewTokens) blocked = 'length';
      else if (signal?.aborted) blocked = 'abort';
      else if (model.position >= scratch.maxContext) blocked = 'context';
      if (blocked !== null) break;
      const dispatchesBefore = model.dispatches;
      const encodeStart = performance.now();
      sampler.writeSettings(settings, model.position + 1);
      const encoder = device.createCommandEncoder({ label: 'decode' });
      model.encodeForward(encoder, 1, attention, sampler.sample, 'last');
      encoder.copyBufferToBuffer(sampler.sampled, 0, ring[(submitted + 1) % RING], 0, 4);
      device.queue.submit([encoder.finish()]);
      decodeSubmits++;
      encodeMs += performance.now() - encodeStart;
      decodeDispatches += model.dispatches - dispatchesBefore;
      submitted++;
    }
  };
  for (let i = 0; ; i++) {
    submitUpTo(i + depth - 1);
    const slot = ring[i % RING];
    await slot.mapAsync(GPUMapMode.READ);
    const id = new Uint32Array(slot.getMappedRange())[0];
    slot.unmap();
    const now = performance.now();
    if (i === 0) {
      stats.prefillMs = now - prefillStart;
    } else {
      series.push({ contextTokens: base + i, ms: now - previousAt });
    }
    previousAt = now;
    ids.push(id);
    options.onToken?.(id);
    if (i === 0) stats.timeToFirstTokenMs = performance.now() - called;
    const aborted = signal?.aborted === true;
    if (stop.has(id) || aborted) {
      model.position -= submitted - i; // the steps fed with this id and after it are discarded
      stopReason = stop.has(id) ? 'stop' : 'abort';
      break;
    }
    if (submitted <= i) { // nothing was fed this id
      stopReason = blocked ?? 'length';
      break;
    }
  }
  const decodeSteps = submitted;
  stats.decodeTokens = ids.length - 1;
  stats.decodeMs = series.reduce((sum, point) => sum + point.ms, 0);
  stats.contextTokens = model.position;
  stats.submitsPerDecodeToken = decodeSteps ? decodeSubmits / decodeSteps : 0;
  stats.dispatchesPerDecodeToken = decodeSteps ? decodeDispatches / decodeSteps : 0;
  stats.encodeMsPerDecodeToken = decodeSteps ? encodeMs / decodeSteps : 0;
  return { ids, stopReason, stats };
}

/**
 * Makes the sampler's seen set (the ids the repetition penalty applies to) hold exactly `keptIds`, the ids left in
 * the cache after a caller rolled model.position back to reuse a conversation's prefix; generate() itself only
 * clears the set at position 0. One small submit per scratch.maxRows ids, no forward pass.
 */
export function resetSeenTokens(model: DeepseekForward, keptIds: readonly number[]): void {
  const { device } = model.ctx;
  const { sampler } = loopState(model);
  let encoder = device.createCommandEncoder({ label: 'seen_reset' });
  sampler.clearSeen(encoder);
  for (let start = 0; start < keptIds.length; start += model.scratch.maxRows) {
    const chunk = keptIds.slice(start, start + model.scratch.maxRows);
    device.queue.writeBuffer(model.scratch.tokenIds, 0, Uint32Array.from(chunk));
    model.ctx.writeStep(chunk.length, 0, false);
    const pass = encoder.beginComputePass({ label: 'seen_mark' });
    sampler.mark.encode(pass, chunk.length);
    pass.end();
    device.queue.submit([encoder.finish()]);
    encoder = device.createCommandEncoder({ label: 'seen_reset' });
  }
  if (keptIds.length === 0) device.queue.submit([encoder.finish()]);
}
