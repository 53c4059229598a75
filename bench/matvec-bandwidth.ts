// Decode bandwidth probe (a piece of `npm run bench`): the adapter's streaming-read ceiling (bench/gpu-timing.ts's
// plain WGSL read kernel), then each matrix-vector kernel's achieved read bandwidth at DeepSeek-V2-Lite's decode shapes
// (bench/matvec-shapes.ts) for f16/q8/q4 weights and every candidate thread layout: the element-pair kernels
// (linear.wgsl, MatvecShape) as the baseline and the packed-chunk kernels (linear_packed.wgsl, experts_packed.wgsl)
// under each PackedMatvecShape of --layouts, as GB/s and a share of the ceiling from the same run.
// Weights are random bits (never zeros) in enough copies that the set is read from memory, not the 50 MB L2; the
// timed dispatches rotate through the copies. Two columns: `serial` (every dispatch writes the same output, so each
// waits for the one before, as in decode) and `overlap` (each copy its own output: the GPU may overlap them; the
// kernel's own rate without the per-dispatch gaps). Many dispatches in one submit, after a warm-up, timed on the
// GPU's timestamps where the adapter has them (gpu-timing.ts PassTimer), else by wall clock. Per shape also a plain
// streaming read of the same bytes in one dispatch (the ceiling's kernel, serial like decode): what any kernel of
// that size can reach on this adapter, launch and ramp included, against which the kernel's own rate is judged.
// Usage: node scripts/run-ts.mjs bench/matvec-bandwidth.ts [--json] [--quick] [--dtypes q4,q8,f16]
// (--json: the table rows to stderr as measured, one JSON object on stdout)
//   [--shapes q_proj,lm_head,...] [--layouts 128x32x2,256x64x1,...] [--iters N] [--warm-ms MS (default 20, 0 off)]
//   [--no-subgroups (the lane sums through workgroup memory where the adapter has subgroups)]
// --quick (SwiftShader / smoke): a 16 MiB ceiling, one timed pass per entry, serial only, q4 and two small shapes
// and two layouts unless --dtypes / --shapes / --layouts say otherwise.
import { createStorage } from '../engine/gpu/buffers';
import { GpuContext, type KernelCall } from '../engine/gpu/context';
import { MATVEC_SHAPES, type PackedMatvecShape } from '../engine/kernels/matvec-shape';
import { packedChunkFits } from '../engine/kernels/weight-args';
import { packedLayout, type StorageDtype } from '../engine/weights/quant';
import type { GpuWeight } from '../engine/weights/gpu-weight';
import { createBenchDevice, PassTimer, perRepetition, streamingCeiling, streamingRead, submitTimed } from './gpu-timing';
import { buildShapeCall, DECODE_SHAPES, type DecodeShape } from './matvec-shapes';

// Random words whose f16 halves are finite numbers below 1 (scales stay sane; q4/q8 codes stay random).
const FILL_KERNEL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> words: array<u32>;
@group(0) @binding(1) var<uniform> seed: vec4<u32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= arrayLength(&words)) { return; }
  var h = i * 0x9e3779b9u + seed.x;
  h ^= h >> 16u; h *= 0x7feb352du; h ^= h >> 15u; h *= 0x846ca68bu; h ^= h >> 16u;
  words[i] = h & 0x3bff3bffu;
}`;

// WGxLANESxROWS_PER_THREAD. The first is the GPU default (PACKED_MATVEC_SHAPES.gpu); more rows per thread read
// each x chunk once for more rows (x is 4-8 bytes of L1 traffic per q4 weight byte at 1-2 rows), fewer make
// more workgroups for the small projections; lanes trade steps per row against reduction depth.
const DEFAULT_LAYOUTS = ['128x32x2', '128x32x4', '128x32x1', '256x64x1', '256x64x2', '256x32x4', '128x16x2', '64x8x4', '256x32x8'];
const QUICK_SHAPES = ['kv_a_proj_with_mqa', 'experts down'];
const L2_DEFEAT_BYTES = 256 << 20;
/** Untimed dispatches before each timed run (--quick: 1). */
let warmUp = 8;

/**
 * A streaming read kept running on the GPU just before each timed pass (in the same submit), so each measurement
 * starts on a busy GPU: sweeps without it read every kernel 1.5-3x slower from some point on (one call: dense
 * gate_up 14.4 µs for one layout, 36 µs for the next, and every shape after it). The cause is not known: in a
 * later call nvidia-smi showed the clocks steady at 1,980 MHz and that sweep, with the warmer, read no such step.
 * Sized by time from the measured ceiling.
 */
interface ClockWarmer { read: (pass: GPUComputePassEncoder) => void; dispatches: number }
let warmer: ClockWarmer | null = null;
const WARMER_BYTES = 64 << 20;

function createWarmer(device: GPUDevice, ceilingGBps: number, warmMs: number): ClockWarmer | null {
  if (warmMs <= 0 || !device.features.has('timestamp-query')) return null;
  const src = createStorage(device, WARMER_BYTES, 'warmer_src');
  fillRandom(device, src, 11);
  const read = streamingRead(device, { buffer: src }, createStorage(device, 16, 'warmer_sink'));
  const dispatchMs = WARMER_BYTES / (ceilingGBps * 1e9) * 1e3;
  return { read, dispatches: Math.ceil(warmMs / dispatchMs) };
}

/**
 * Seconds per dispatch of `encode(pass, i)` for i = warmUp..warmUp+iters-1 in one submit, after an untimed round
 * of i = 0..warmUp-1 (so with iters + warmUp weight copies no timed dispatch finds its weights in L2): on the GPU's
 * timestamps where the device has them (the CPU's encoding and the clock warmer's pass left out), else by wall clock.
 */
async function timeDispatches(device: GPUDevice, iters: number, encode: (pass: GPUComputePassEncoder, i: number) => void): Promise<number> {
  const onePass = (from: number, n: number) => (begin: (i: number) => GPUComputePassEncoder) => {
    const pass = begin(0);
    for (let i = from; i < from + n; i++) encode(pass, i);
    pass.end();
  };
  await submitTimed(device, null, 1, onePass(0, warmUp));
  const warm = warmer;
  const timer = PassTimer.for(device, warm ? 2 : 1);
  const record = warm ? (begin: (i: number) => GPUComputePassEncoder) => {
    const pass = begin(0);
    for (let i = 0; i < warm.dispatches; i++) warm.read(pass);
    pass.end();
    onePass(warmUp, iters)(() => begin(1));
  } : onePass(warmUp, iters);
  const { wall, gpu } = perRepetition(await submitTimed(device, timer, warm ? 2 : 1, record, warm ? 1 : 0), iters);
  timer?.destroy();
  return gpu ?? wall;
}

function kernel(device: GPUDevice, code: string): GPUComputePipeline {
  return device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
}

const FILL_PIPELINES = new WeakMap<GPUDevice, GPUComputePipeline>();

function fillRandom(device: GPUDevice, buffer: GPUBuffer, seed: number): void {
  let pipeline = FILL_PIPELINES.get(device);
  if (!pipeline) FILL_PIPELINES.set(device, pipeline = kernel(device, FILL_KERNEL));
  const seedBuffer = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(seedBuffer, 0, Uint32Array.from([seed >>> 0, 0, 0, 0]));
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer } }, { binding: 1, resource: { buffer: seedBuffer } }],
  });
  const groups = Math.ceil(buffer.size / 4 / 256);
  const x = Math.min(groups, 65535);
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(x, Math.ceil(groups / x));
  pass.end();
  device.queue.submit([encoder.finish()]);
}

/** A random-filled weight [...shape] in `dtype` (q8 groups of 16, q4 of 32: the engine's default plans). */
function randomWeight(device: GPUDevice, dtype: StorageDtype, shape: number[], seed: number): GpuWeight {
  const k = shape[shape.length - 1];
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const group = dtype === 'q8' ? 16 : dtype === 'q4' ? 32 : 0;
  const layout = packedLayout(dtype, rows, k, group);
  const buffer = createStorage(device, layout.words * 4, `w_${dtype}`);
  fillRandom(device, buffer, seed);
  return { buffer, dtype, shape, rowStride: layout.rowWords, group: layout.group, scaleOffset: layout.scaleOffset, scaleRowStride: layout.scaleRowWords };
}

function parseLayout(text: string): PackedMatvecShape {
  const [WG, LANES, ROWS_PER_THREAD] = text.split('x').map(Number);
  return { WG, LANES, ROWS_PER_THREAD };
}

function listArg(name: string, fallback: string[]): string[] {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1].split(',') : fallback;
}

interface Row { dtype: string; shape: string; n: number; k: number; layout: string; bytes: number; serialUs: number; serialGBps: number; overlapGBps: number }

/**
 * GB/s of the ceiling's plain read kernel over `bytes` bytes in one dispatch, each dispatch a different copy (as
 * many as outgrow L2, at most `copiesCap`) and writing the same sink (so each waits for the one before).
 */
async function sameSizeRead(device: GPUDevice, bytes: number, iters: number, copiesCap: number): Promise<number> {
  const align = device.limits.minStorageBufferOffsetAlignment;
  const size = Math.ceil(bytes / 16) * 16;
  const stride = Math.ceil(size / align) * align;
  const copies = Math.max(1, Math.min(copiesCap, Math.ceil(L2_DEFEAT_BYTES / stride)));
  const src = createStorage(device, stride * copies, 'same_size_src');
  fillRandom(device, src, 7);
  const sink = createStorage(device, 16, 'same_size_sink');
  const reads = Array.from({ length: copies }, (_, i) => streamingRead(device, { buffer: src, offset: i * stride, size }, sink));
  const seconds = await timeDispatches(device, iters, (pass, i) => reads[i % copies](pass));
  src.destroy();
  sink.destroy();
  return bytes / seconds / 1e9;
}

async function measureShape(device: GPUDevice, dtype: StorageDtype, shape: DecodeShape, layouts: string[], iters: number,
  copiesCap: number, overlapToo: boolean, subgroups: boolean): Promise<Row[]> {
  const probe = randomWeight(device, dtype, shape.weightShape, 0);
  // Enough copies that the set outgrows L2, at most one per dispatch of a timed run.
  const copies = Math.max(1, Math.min(copiesCap, Math.ceil(L2_DEFEAT_BYTES / probe.buffer.size)));
  const weights = [probe, ...Array.from({ length: copies - 1 }, (_, i) => randomWeight(device, dtype, shape.weightShape, i + 1))];
  const rows: Row[] = [];
  const candidates = packedChunkFits(probe) ? ['pair', ...layouts] : ['pair'];
  const shared = buildShapeCall(device, shape);
  const own = overlapToo ? weights.map(() => buildShapeCall(device, shape)) : [];
  for (const layout of candidates) {
    // 'pair': packed kernels off, the element-pair kernels with the GPU layout (the baseline).
    const ctx = new GpuContext(device, layout === 'pair' ? { matvec: MATVEC_SHAPES.gpu, packedMatvec: null, subgroups } : { packedMatvec: parseLayout(layout), subgroups });
    const serialCalls: KernelCall[] = weights.map((w) => shared.withWeight(ctx, w));
    const overlapCalls: KernelCall[] = own.map((io, i) => io.withWeight(ctx, weights[i]));
    ctx.writeStep(1, 0, false);
    const serial = await timeDispatches(device, iters, (pass, i) => serialCalls[i % copies].encode(pass, 1));
    const overlap = overlapToo ? await timeDispatches(device, iters, (pass, i) => overlapCalls[i % copies].encode(pass, 1)) : NaN;
    const bytes = shape.bytesRead(probe);
    rows.push({
      dtype, shape: shape.name, n: shape.n, k: shape.k, layout, bytes, serialUs: +(serial * 1e6).toFixed(2),
      serialGBps: +(bytes / serial / 1e9).toPrecision(4), overlapGBps: +(bytes / overlap / 1e9).toPrecision(4),
    });
  }
  for (const io of [shared, ...own]) io.destroy();
  for (const w of weights) w.buffer.destroy();
  return rows;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const quick = process.argv.includes('--quick');
  if (quick) warmUp = 1;
  const { device, adapterInfo } = await createBenchDevice();
  const itersAt = process.argv.indexOf('--iters');
  const iters = itersAt > 0 ? Number(process.argv[itersAt + 1]) : quick ? 1 : 64;
  // 1 GiB where the adapter binds that much (a smaller buffer than asked for would fail validation and time nothing).
  const streamBytes = Math.min(quick ? 16 << 20 : 1 << 30, device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize) & ~0xffff;
  const ceiling = await streamingCeiling(device, streamBytes, quick ? 1 : 30);
  const warmAt = process.argv.indexOf('--warm-ms');
  warmer = createWarmer(device, ceiling, warmAt > 0 ? Number(process.argv[warmAt + 1]) : quick ? 0 : 20);
  const dtypes = listArg('--dtypes', quick ? ['q4'] : ['q4', 'q8', 'f16']) as StorageDtype[];
  const shapeNames = listArg('--shapes', quick ? QUICK_SHAPES : DECODE_SHAPES.map((s) => s.name));
  const layouts = listArg('--layouts', quick ? DEFAULT_LAYOUTS.slice(0, 2) : DEFAULT_LAYOUTS);
  const rows: Row[] = [];
  const sameSize = new Map<string, number>();
  const subgroups = !process.argv.includes('--no-subgroups');
  for (const dtype of dtypes) {
    for (const name of shapeNames) {
      const shape = DECODE_SHAPES.find((s) => s.name === name);
      if (!shape) throw new Error(`unknown shape ${name}; one of: ${DECODE_SHAPES.map((s) => s.name).join(', ')}`);
      const measured = await measureShape(device, dtype, shape, layouts, iters, quick ? 1 : iters + warmUp, !quick, subgroups);
      rows.push(...measured);
      for (const r of measured) printRow(r, ceiling, json);
      const read = await sameSizeRead(device, measured[0].bytes, iters, quick ? 1 : iters + warmUp);
      sameSize.set(`${dtype} ${name}`, read);
      (json ? console.error : console.log)(`${dtype.padEnd(4)} ${name.padEnd(24)} same-size read  ${pct(read, ceiling)}`);
    }
  }
  if (json) {
    const sameSizeReadGBps = Object.fromEntries([...sameSize].map(([key, gbps]) => [key, +gbps.toPrecision(4)]));
    console.log(JSON.stringify({ adapter: adapterInfo, ceilingGBps: +ceiling.toFixed(1), matvec: rows, sameSizeReadGBps }));
    return;
  }
  console.log(`adapter: ${adapterInfo}\nstreaming-read ceiling: ${ceiling.toFixed(1)} GB/s\nbest layout per shape (serial GB/s, % of ceiling;`
    + ' same-size read: the plain read kernel over the same bytes in one dispatch, and the best layout as a share of it):');
  for (const dtype of dtypes) {
    for (const name of shapeNames) {
      const own = rows.filter((r) => r.dtype === dtype && r.shape === name);
      const best = own.reduce((a, b) => (b.serialGBps > a.serialGBps ? b : a));
      const pair = own.find((r) => r.layout === 'pair');
      const read = sameSize.get(`${dtype} ${name}`) ?? NaN;
      console.log(`${dtype.padEnd(4)} ${name.padEnd(24)} best ${best.layout.padEnd(9)} ${pct(best.serialGBps, ceiling)} overlap ${pct(best.overlapGBps, ceiling)}`
        + `  (element-pair kernel ${pair ? pct(pair.serialGBps, ceiling) : '-'})  same-size read ${pct(read, ceiling)}`
        + ` (best ${(100 * best.serialGBps / read).toFixed(0)}% of it)`);
    }
  }
}

function pct(gbps: number, ceiling: number): string {
  if (Number.isNaN(gbps)) return '     - GB/s    -';
  return `${gbps.toPrecision(3).padStart(6)} GB/s ${(100 * gbps / ceiling).toFixed(0).padStart(3)}%`;
}

/** One measured entry, as it comes (to stderr under --json, so stdout stays one JSON object). */
function printRow(r: Row, ceiling: number, json: boolean): void {
  (json ? console.error : console.log)(`${r.dtype.padEnd(4)} ${r.shape.padEnd(24)} [${r.n}, ${r.k}] ${r.layout.padEnd(9)} ${String(r.serialUs).padStart(8)} us`
    + `  serial ${pct(r.serialGBps, ceiling)}  overlap ${pct(r.overlapGBps, ceiling)}`);
}

main().then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });
