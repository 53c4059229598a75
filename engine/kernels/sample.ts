// Token sampler driver (shaders/sample.wgsl): repetition penalty, temperature, top-k, top-p and a seeded draw over
// the last row of a step's logits [T, V], in two dispatches: each of GROUPS workgroups keeps the top-k of its slice
// of the row, one workgroup selects and draws from their union (rows of up to 4,096 logits, and every row on CPU
// adapters: that workgroup alone, one dispatch).
// It owns the `seen` bitmap (ids fed into the cache so far, marked by the kernel itself), the settings uniform and
// the one-word `sampled` buffer that is the only readback. `mark` records a prompt chunk's ids when that chunk samples nothing.
import source from '../../shaders/sample.wgsl';
import { createStorage } from '../gpu/buffers';
import { simpleCall, type GpuContext, type KernelCall } from '../gpu/context';
import type { MatvecKind } from './matvec-shape';

export interface SamplingSettings {
  temperature: number; // 0 = greedy argmax
  topK: number; // 0 = off (= SAMPLE_TOP_K_CAP)
  topP: number; // (0, 1], 1 = off
  repetitionPenalty: number; // > 0, 1 = off
  seed: number; // u32
}

export const SAMPLE_TOP_K_CAP = 256;
export const GREEDY: SamplingSettings = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0 };

export interface SamplerArgs {
  logits: GPUBuffer; // [T, V] f32
  vocab: number;
  tokenIds: GPUBuffer; // [maxRows] u32: the step's fed ids; the chosen id is written to [0]
}

export interface Sampler {
  readonly sample: KernelCall;
  readonly mark: KernelCall;
  readonly seen: GPUBuffer; // [ceil(V / 32)] u32 bitmap
  readonly sampled: GPUBuffer; // [1] u32
  /** Queues the settings for the next submit; `counter` picks the draw within the seed's stream. */
  writeSettings(settings: SamplingSettings, counter: number): void;
  /** Forgets every seen id (a new conversation). */
  clearSeen(encoder: GPUCommandEncoder): void;
}

/** The top-k the kernel uses for a setting (0 = off = the cap), also used by the CPU reference. */
export function effectiveTopK(topK: number, vocab: number): number {
  return Math.min(topK <= 0 ? SAMPLE_TOP_K_CAP : Math.min(topK, SAMPLE_TOP_K_CAP), vocab);
}

function bad(field: string, want: string, value: number): RangeError {
  return new RangeError(`sampling setting ${field} must be ${want}, got ${value}`);
}

export function checkSamplingSettings(s: SamplingSettings): void {
  if (!(s.temperature >= 0) || !Number.isFinite(s.temperature)) throw bad('temperature', 'a finite number >= 0', s.temperature);
  if (!Number.isInteger(s.topK) || s.topK < 0) throw bad('topK', `an integer >= 0 (0 = off, at most ${SAMPLE_TOP_K_CAP} used)`, s.topK);
  if (!(s.topP > 0 && s.topP <= 1)) throw bad('topP', 'in (0, 1]', s.topP);
  if (!(s.repetitionPenalty > 0) || !Number.isFinite(s.repetitionPenalty)) throw bad('repetitionPenalty', 'a finite number > 0', s.repetitionPenalty);
  if (!Number.isInteger(s.seed) || s.seed < 0 || s.seed > 0xffffffff) throw bad('seed', 'a u32 integer', s.seed);
}

/** Logits a thread holds at most where a GPU samples the whole row in one workgroup (ONE_SLICE: one dispatch). */
const ONE_SLICE_PER = 16;

/**
 * Logits per thread (PER) of the slice workgroups, and how many there are. GPUs: a row of up to WG · 16 logits is
 * one slice, sampled by one workgroup in one dispatch; longer rows take PER = ceil(sqrt(V / WG)), so the final
 * workgroup's GROUPS · WG candidates fit PER a thread too (V = 102,400: 20 a thread, 20 slices of 5,120). CPU
 * adapters: always one slice (SwiftShader, V = 102,400: 13 ms a sample against 64 with 20 slices; per workgroup it
 * pays for every barrier on the CPU).
 */
export function sampleSlices(vocab: number, layout: MatvecKind): { perThread: number; groups: number } {
  const perThread = layout === 'cpu' || vocab <= SAMPLE_TOP_K_CAP * ONE_SLICE_PER
    ? Math.ceil(vocab / SAMPLE_TOP_K_CAP) : Math.ceil(Math.sqrt(vocab / SAMPLE_TOP_K_CAP));
  const groups = Math.ceil(vocab / (SAMPLE_TOP_K_CAP * perThread));
  if (groups > perThread) throw new Error(`sample: ${groups} slices of ${perThread} logits a thread do not fit one workgroup`);
  return { perThread, groups };
}

export function createSampler(ctx: GpuContext, args: SamplerArgs): Sampler {
  const { device } = ctx;
  const { vocab } = args;
  if (!Number.isInteger(vocab) || vocab < 1) throw new Error(`sample: vocab must be a positive integer, got ${vocab}`);
  if (args.logits.size < vocab * 4) throw new Error(`sample: logits (${args.logits.size} bytes) hold less than one row of ${vocab} f32`);
  const seen = createStorage(device, Math.ceil(vocab / 32) * 4, 'sample_seen');
  const sampled = createStorage(device, 4, 'sampled_token');
  const settingsBuffer = device.createBuffer({ label: 'sample_settings', size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const data = new ArrayBuffer(32);
  const f32 = new Float32Array(data);
  const u32 = new Uint32Array(data);
  const { perThread, groups } = sampleSlices(vocab, ctx.layout);
  // (A one-slice row needs no candidates; the buffers stay, 1 KiB each, so the bindings keep one shape.)
  const candValue = createStorage(device, groups * SAMPLE_TOP_K_CAP * 4, 'sample_cand_value');
  const candIndex = createStorage(device, groups * SAMPLE_TOP_K_CAP * 4, 'sample_cand_index');
  const oneSlice = groups === 1;
  const defines = { WG: SAMPLE_TOP_K_CAP, VOCAB: vocab, PER: perThread, ...(oneSlice ? { ONE_SLICE: true } : {}) };
  const bindings = [ctx.step, settingsBuffer, args.logits, seen, args.tokenIds, sampled, candValue, candIndex];
  // Each entry's auto layout holds only the bindings it uses.
  const entry = (name: string, used: number[]) => {
    const pipeline = ctx.pipeline('sample', source, defines, name);
    const group = device.createBindGroup({
      label: `sample.${name}`,
      layout: pipeline.getBindGroupLayout(0),
      entries: used.map((binding) => ({ binding, resource: { buffer: bindings[binding] } })),
    });
    return { pipeline, group };
  };
  const sliceTop = oneSlice ? null : entry('slice_top', [0, 1, 2, 3, 4, 6, 7]);
  const main = entry('main', oneSlice ? [0, 1, 2, 3, 4, 5, 6, 7] : [0, 1, 3, 4, 5, 6, 7]);
  const markEntry = entry('mark', [0, 3, 4]);
  const sample: KernelCall = {
    name: 'sample',
    encode(pass, rows) {
      if (rows === 0) return;
      if (sliceTop) {
        pass.setPipeline(sliceTop.pipeline);
        pass.setBindGroup(0, sliceTop.group);
        pass.dispatchWorkgroups(groups);
      }
      pass.setPipeline(main.pipeline);
      pass.setBindGroup(0, main.group);
      pass.dispatchWorkgroups(1);
    },
  };
  const mark = simpleCall('sample_mark', markEntry.pipeline, markEntry.group, (rows) => [rows > 0 ? 1 : 0]);
  return {
    sample,
    mark,
    seen,
    sampled,
    writeSettings(settings, counter) {
      checkSamplingSettings(settings);
      f32[0] = settings.temperature;
      f32[1] = settings.topP;
      // Greedy takes candidate 0 whatever top-k says: selecting one candidate picks the same id with less work.
      u32[2] = settings.temperature === 0 ? 1 : effectiveTopK(settings.topK, vocab);
      f32[3] = settings.repetitionPenalty;
      u32[4] = settings.seed;
      u32[5] = counter >>> 0;
      device.queue.writeBuffer(settingsBuffer, 0, data);
    },
    clearSeen(encoder) {
      encoder.clearBuffer(seen);
    },
  };
}
