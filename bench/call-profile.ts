// Where a decode (or prefill) step's GPU time goes, kernel by kernel: each of the step's kernel calls is encoded
// `reps` times back to back in one compute pass (as the real step issues its dispatches) and timed by wall clock
// around the submit; calls with the same name are summed. A call's time includes the gap between dispatches that
// the real step pays too, so the sum is close to the whole step. Repeating a call is harmless: every kernel
// rewrites its outputs from its inputs, except the residual adds, which only grow the hidden state.
import type { AttentionMode, DeepseekForward } from '../engine/model/forward';
import type { KernelCall } from '../engine/gpu/context';

export interface CallTime {
  name: string;
  calls: number; // calls of this name in one step
  dispatchesPerCall: number;
  us: number; // per step, all calls of this name
}

export interface StepProfile {
  rows: number;
  context: number;
  attention: AttentionMode;
  stepUs: number; // the whole step encoded once per repetition (submit overhead included)
  calls: CallTime[]; // by time, largest first
}

/** Counts the dispatches a call records for `rows`, without a GPU pass. */
function dispatchesOf(call: KernelCall, rows: number): number {
  let n = 0;
  const probe = { setPipeline() {}, setBindGroup() {}, dispatchWorkgroups() { n++; } };
  call.encode(probe as unknown as GPUComputePassEncoder, rows);
  return n;
}

/** Microseconds of `reps` repetitions of `calls` in one pass and one submit, per repetition. */
async function timeCalls(device: GPUDevice, calls: KernelCall[], rows: number, reps: number): Promise<number> {
  const run = async (n: number) => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (let r = 0; r < n; r++) for (const call of calls) call.encode(pass, rows);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await run(1);
  const t0 = performance.now();
  await run(reps);
  return ((performance.now() - t0) * 1000) / reps;
}

/** Profiles one step of `rows` rows at cache length `context` (the step's keys are context + rows). */
export async function profileStep(model: DeepseekForward, context: number, rows: number, attention: AttentionMode,
  reps: number): Promise<StepProfile> {
  const { device } = model.ctx;
  const indexer = model.config.indexer;
  const sparse = attention === 'sparse' && indexer !== null && context + rows > indexer.topk;
  const calls = model.stepCalls(sparse ? 'sparse' : 'dense');
  model.ctx.writeStep(rows, context, sparse);
  const stepUs = await timeCalls(device, calls, rows, reps);
  // The submit and wait around each measurement, spread over its repetitions, is taken off every call's figure.
  const overheadUs = await timeCalls(device, [], rows, reps);
  const byName = new Map<string, CallTime>();
  for (const call of calls) {
    const us = Math.max(0, (await timeCalls(device, [call], rows, reps)) - overheadUs);
    const entry = byName.get(call.name) ?? { name: call.name, calls: 0, dispatchesPerCall: dispatchesOf(call, rows), us: 0 };
    entry.calls++;
    entry.us += us;
    byName.set(call.name, entry);
  }
  return { rows, context, attention, stepUs, calls: [...byName.values()].sort((a, b) => b.us - a.us) };
}

export function profileLines(profile: StepProfile): string[] {
  const total = profile.calls.reduce((sum, c) => sum + c.us, 0);
  const lines = [
    `profile: ${profile.rows === 1 ? 'decode step' : `step of ${profile.rows} rows`} at context ${profile.context} ` +
      `(${profile.attention}): whole step ${(profile.stepUs / 1000).toFixed(3)} ms, sum of kernels ${(total / 1000).toFixed(3)} ms`,
    `  ${'kernel'.padEnd(24)} ${'calls'.padStart(5)} ${'disp'.padStart(4)} ${'us/step'.padStart(9)} ${'us/call'.padStart(8)} ${'share'.padStart(6)}`,
  ];
  for (const c of profile.calls) {
    lines.push(`  ${c.name.padEnd(24)} ${String(c.calls).padStart(5)} ${String(c.dispatchesPerCall).padStart(4)} ` +
      `${c.us.toFixed(0).padStart(9)} ${(c.us / c.calls).toFixed(1).padStart(8)} ${((100 * c.us) / total).toFixed(1).padStart(5)}%`);
  }
  return lines;
}
