// GPU timing shared by the benchmarks: a kernel encoded many times in one submit after a warm-up, timed by wall
// clock around the submit and, where the device has 'timestamp-query', by the GPU's own timestamps at the passes'
// begin and end (PassTimer). The wall clock also counts encoding the repetitions on the CPU and Dawn recording them
// at submit; the GPU time is what the passes took on the GPU, launch gaps between their dispatches included, the
// CPU's share not (in the generation loop the CPU encodes the next token while the GPU runs this one). Also the
// adapter's streaming-read ceiling — a plain WGSL kernel that XORs a big buffer through vec4<u32> loads with a
// grid-stride loop — against which the matrix-vector kernels are judged.
import { createStorage } from '../engine/gpu/buffers';
import type { EngineDevice } from '../engine/gpu/device';
import { createNodeDevice, installNodeWebGpu } from '../engine/gpu/node-gpu';

/** Dawn flags for benchmarks: timestamps at full resolution (Dawn rounds them for pages, against timing attacks). */
const BENCH_DAWN_FLAGS = ['disable-dawn-features=timestamp_quantization'];

/**
 * The benchmarks' device: 'timestamp-query' where the adapter has it, at full resolution. Call before anything else
 * in the process creates a Node WebGPU device (Dawn's flags apply to its first instance only). `subgroups: false`
 * leaves subgroup operations off (the reductions' workgroup-memory fallback, for comparing the two).
 */
export async function createBenchDevice(options: { subgroups?: boolean } = {}): Promise<EngineDevice> {
  await installNodeWebGpu(BENCH_DAWN_FLAGS);
  return createNodeDevice({ optionalFeatures: ['timestamp-query'], subgroups: options.subgroups });
}

/** Seconds per repetition: wall clock, and on the GPU where timestamps are available (null otherwise). */
export interface Timing {
  wall: number;
  gpu: number | null;
}

/**
 * Timestamps written at the beginning and end of up to `maxPasses` compute passes of one submit, read back as the
 * span from the first pass's beginning to the last one's end. `PassTimer.for` gives null without 'timestamp-query'.
 */
export class PassTimer {
  private readonly querySet: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private readonly readback: GPUBuffer;

  static for(device: GPUDevice, maxPasses: number): PassTimer | null {
    return device.features.has('timestamp-query') ? new PassTimer(device, maxPasses) : null;
  }

  private constructor(device: GPUDevice, readonly maxPasses: number) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * maxPasses });
    this.resolved = device.createBuffer({ size: 16 * maxPasses, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.readback = device.createBuffer({ size: 16 * maxPasses, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** The timestampWrites of pass `i` (0-based) of the submit. */
  writes(i: number): GPUComputePassTimestampWrites {
    if (i >= this.maxPasses) throw new RangeError(`PassTimer holds ${this.maxPasses} passes, asked for pass ${i}`);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Copies the first `passes` passes' timestamps out (encode after those passes, before finishing `encoder`). */
  resolve(encoder: GPUCommandEncoder, passes: number): void {
    encoder.resolveQuerySet(this.querySet, 0, 2 * passes, this.resolved, 0);
    encoder.copyBufferToBuffer(this.resolved, 0, this.readback, 0, 16 * passes);
  }

  /**
   * Seconds from pass `first`'s beginning (default the first pass) to pass `passes - 1`'s end, once the submit has
   * run.
   */
  async span(passes: number, first = 0): Promise<number> {
    await this.readback.mapAsync(GPUMapMode.READ, 0, 16 * passes);
    const stamps = new BigInt64Array(this.readback.getMappedRange(0, 16 * passes));
    const ns = Number(stamps[2 * passes - 1] - stamps[2 * first]);
    this.readback.unmap();
    return ns / 1e9;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolved.destroy();
    this.readback.destroy();
  }
}

/**
 * One submit of the compute passes `record` opens through `begin(i)` (pass i of `passes`; with timestamps when
 * `timer` is given), waited for. Returns the seconds from the start of recording to the GPU's finish (wall clock),
 * and the GPU's span from the first pass's beginning to the last one's end (null without a timer).
 */
export async function submitTimed(device: GPUDevice, timer: PassTimer | null, passes: number,
  record: (begin: (i: number) => GPUComputePassEncoder) => void, firstTimed = 0): Promise<Timing> {
  const t0 = performance.now();
  const encoder = device.createCommandEncoder();
  record((i) => encoder.beginComputePass(timer ? { timestampWrites: timer.writes(i) } : {}));
  if (timer) timer.resolve(encoder, passes);
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  const wall = (performance.now() - t0) / 1000;
  return { wall, gpu: timer ? await timer.span(passes, firstTimed) : null };
}

/** A timing divided by `n` repetitions and scaled by `unit` (1 for seconds, 1e6 for microseconds). */
export function perRepetition(timing: Timing, n: number, unit = 1): Timing {
  return { wall: (timing.wall * unit) / n, gpu: timing.gpu === null ? null : (timing.gpu * unit) / n };
}

const READ_KERNEL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<u32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let stride = groups.x * 256u;
  var acc = vec4<u32>(0u);
  for (var i = gid.x; i < arrayLength(&src); i += stride) { acc ^= src[i]; }
  let v = acc.x ^ acc.y ^ acc.z ^ acc.w;
  if (v == 0x9e3779b9u) { sink[0] = v; } // keeps the reads alive; never true for a zero buffer
}`;

const READ_PIPELINES = new WeakMap<GPUDevice, GPUComputePipeline>();

/**
 * An encoder of the streaming-read kernel over `src` (a whole buffer or a range of one) into a 16-byte `sink`: one
 * dispatch sized for 8 vectors a thread (the ceiling's grid; at most 65,535 workgroups, the rest by grid stride).
 * The pipeline is built once per device.
 */
export function streamingRead(device: GPUDevice, src: GPUBufferBinding, sink: GPUBuffer): (pass: GPUComputePassEncoder) => void {
  let pipeline = READ_PIPELINES.get(device);
  if (!pipeline) {
    pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: READ_KERNEL }), entryPoint: 'main' } });
    READ_PIPELINES.set(device, pipeline);
  }
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: src }, { binding: 1, resource: { buffer: sink } }] });
  const bytes = src.size ?? src.buffer.size - (src.offset ?? 0);
  const workgroups = Math.min(65535, Math.ceil(bytes / 16 / 256 / 8));
  const ready = pipeline;
  return (pass) => {
    pass.setPipeline(ready);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(workgroups);
  };
}

/**
 * Seconds per repetition of `encode` (each in its own compute pass), `iters` of them in one submit, after two: by
 * wall clock, and on the GPU (first pass's beginning to last pass's end) where the device has timestamps.
 */
export async function timeSubmit(device: GPUDevice, iters: number, encode: (pass: GPUComputePassEncoder) => void): Promise<Timing> {
  const passes = (n: number) => (begin: (i: number) => GPUComputePassEncoder) => {
    for (let i = 0; i < n; i++) {
      const pass = begin(i);
      encode(pass);
      pass.end();
    }
  };
  await submitTimed(device, null, 2, passes(2));
  const timer = PassTimer.for(device, iters);
  const timing = await submitTimed(device, timer, iters, passes(iters));
  timer?.destroy();
  return perRepetition(timing, iters);
}

/** A storage buffer of `bytes`, halved until the adapter can allocate it (SwiftShader cannot always take 1 GiB). */
export async function largestStorage(device: GPUDevice, bytes: number, label: string): Promise<GPUBuffer> {
  for (;;) {
    device.pushErrorScope('out-of-memory');
    const buffer = createStorage(device, bytes, label);
    if (!(await device.popErrorScope()) || bytes <= 1 << 20) return buffer;
    buffer.destroy();
    bytes /= 2;
  }
}

/**
 * GB/s of the streaming-read kernel over a buffer of `requested` bytes (or the largest the adapter allocates below
 * it): the best of three runs of `iters` reads each, timed on the GPU where it can be (else by wall clock; a read of
 * 1 GiB takes ~0.35 ms on an H100, so the two differ by little there).
 */
export async function streamingCeiling(device: GPUDevice, requested: number, iters: number): Promise<number> {
  const src = await largestStorage(device, requested, 'stream_src');
  const bytes = src.size;
  const sink = createStorage(device, 16, 'stream_sink');
  const read = streamingRead(device, { buffer: src }, sink);
  // The best of three measurements: a GPU that has just been given work may not be at its full clock yet (one run
  // on the H100 measured 1,656 GB/s where every other gave 2,870-3,000).
  let seconds = Infinity;
  for (let i = 0; i < 3; i++) {
    const timing = await timeSubmit(device, iters, read);
    seconds = Math.min(seconds, timing.gpu ?? timing.wall);
  }
  src.destroy();
  sink.destroy();
  return bytes / seconds / 1e9;
}
