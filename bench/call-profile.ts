// Where a decode (or prefill) step's GPU time goes, kernel by kernel: each of the step's kernel calls is encoded
// `reps` times back to back in one compute pass (as the real step issues its dispatches) and timed by wall clock
// around the submit; calls with the same name are summed. A call's time includes the gap between dispatches that
// the real step pays too, so the sum is close to the whole step. Where the device has timestamps the pass is also
// timed on the GPU (gpu-timing.ts PassTimer): the wall clock counts the CPU encoding every repetition before the
// submit, which the generation loop hides behind the previous token's GPU work, so the GPU column is what a step
// costs the GPU. Repeating a call is harmless: every kernel rewrites its outputs from its inputs, except the
// residual adds, which only grow the hidden state.
import type { AttentionMode, DeepseekForward } from '../engine/model/forward';
import { countDispatches, type KernelCall } from '../engine/gpu/context';
import { generationSampler } from '../engine/generate/generator';
import { GREEDY } from '../engine/kernels/sample';
import { PassTimer, perRepetition, submitTimed, type Timing } from './gpu-timing';

export interface CallTime {
  name: string;
  calls: number; // calls of this name in one step
  dispatchesPerCall: number;
  us: number; // per step, all calls of this name (wall clock)
  gpuUs: number | null; // the same on the GPU's timestamps (null without them)
}

export interface StepProfile {
  rows: number;
  context: number;
  attention: AttentionMode;
  stepUs: number; // the whole step encoded once per repetition (submit overhead included)
  gpuStepUs: number | null; // the whole step on the GPU's timestamps
  calls: CallTime[]; // by time, largest first
}

/** Microseconds of `reps` repetitions of `calls` in one pass and one submit, per repetition (wall clock; GPU). */
async function timeCalls(device: GPUDevice, timer: PassTimer | null, calls: KernelCall[], rows: number, reps: number): Promise<Timing> {
  const onePass = (n: number) => (begin: (i: number) => GPUComputePassEncoder) => {
    const pass = begin(0);
    for (let r = 0; r < n; r++) for (const call of calls) call.encode(pass, rows);
    pass.end();
  };
  await submitTimed(device, null, 1, onePass(1));
  return perRepetition(await submitTimed(device, timer, 1, onePass(reps)), reps, 1e6);
}

/** Profiles one step of `rows` rows at cache length `context` (the step's keys are context + rows). */
export async function profileStep(model: DeepseekForward, context: number, rows: number, attention: AttentionMode,
  reps: number): Promise<StepProfile> {
  const { device } = model.ctx;
  const indexer = model.config.indexer;
  const sparse = attention === 'sparse' && indexer !== null && context + rows > indexer.topk;
  // The step ends with the sampler generate() uses (greedy settings, as the decode runs), not the argmax.
  const sampler = generationSampler(model);
  sampler.writeSettings(GREEDY, context + rows);
  const calls = model.stepCalls(sparse ? 'sparse' : 'dense', 'last', sampler.sample);
  model.ctx.writeStep(rows, context, sparse);
  const timer = PassTimer.for(device, 1);
  const step = await timeCalls(device, timer, calls, rows, reps);
  // The submit and wait around each measurement, spread over its repetitions, is taken off every call's figure
  // (and an empty pass's GPU time off the GPU figure).
  const overhead = await timeCalls(device, timer, [], rows, reps);
  const byName = new Map<string, CallTime>();
  for (const call of calls) {
    const { wall, gpu } = await timeCalls(device, timer, [call], rows, reps);
    const entry = byName.get(call.name)
      ?? { name: call.name, calls: 0, dispatchesPerCall: countDispatches([call], rows), us: 0, gpuUs: timer ? 0 : null };
    entry.calls++;
    entry.us += Math.max(0, wall - overhead.wall);
    if (entry.gpuUs !== null && gpu !== null) entry.gpuUs += Math.max(0, gpu - (overhead.gpu ?? 0));
    byName.set(call.name, entry);
  }
  timer?.destroy();
  return {
    rows, context, attention, stepUs: step.wall, gpuStepUs: step.gpu, calls: [...byName.values()].sort((a, b) => (b.gpuUs ?? b.us) - (a.gpuUs ?? a.us)),
  };
}

export function profileLines(profile: StepProfile): string[] {
  const total = profile.calls.reduce((sum, c) => sum + c.us, 0);
  const gpu = profile.gpuStepUs !== null;
  const gpuTotal = profile.calls.reduce((sum, c) => sum + (c.gpuUs ?? 0), 0);
  const ms = (us: number) => (us / 1000).toFixed(3);
  const lines = [
    `profile: ${profile.rows === 1 ? 'decode step' : `step of ${profile.rows} rows`} at context ${profile.context} ` +
      `(${profile.attention}): whole step ${ms(profile.stepUs)} ms, sum of kernels ${ms(total)} ms (wall clock)` +
      (gpu ? `; on the GPU ${ms(profile.gpuStepUs!)} ms, sum of kernels ${ms(gpuTotal)} ms` : ''),
    `  ${'kernel'.padEnd(24)} ${'calls'.padStart(5)} ${'disp'.padStart(4)} ${'us/step'.padStart(9)} ${'us/call'.padStart(8)} ${'share'.padStart(6)}` +
      (gpu ? ` ${'GPU us/step'.padStart(11)} ${'GPU us/call'.padStart(11)} ${'share'.padStart(6)}` : ''),
  ];
  for (const c of profile.calls) {
    let line = `  ${c.name.padEnd(24)} ${String(c.calls).padStart(5)} ${String(c.dispatchesPerCall).padStart(4)} ` +
      `${c.us.toFixed(0).padStart(9)} ${(c.us / c.calls).toFixed(1).padStart(8)} ${((100 * c.us) / total).toFixed(1).padStart(5)}%`;
    if (gpu && c.gpuUs !== null) {
      line += ` ${c.gpuUs.toFixed(0).padStart(11)} ${(c.gpuUs / c.calls).toFixed(1).padStart(11)} ${((100 * c.gpuUs) / gpuTotal).toFixed(1).padStart(5)}%`;
    }
    lines.push(line);
  }
  return lines;
}
