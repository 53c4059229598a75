// DSA top-k probe: GPU time per dispatch of the top-k selection (shaders/topk.wgsl) for one decode row, per thread
// layout (threads per workgroup x keys a thread keeps in registers) and key count, as the model runs it: each
// dispatch writes the same outputs, so each waits for the one before. Scores are random positive floats in a
// buffer sized for the model's context; every layout's selection is checked against the CPU reference once.
// Also the floor: the same kernel at a key count within TOPK (it only writes 0..n−1).
// Usage: node scripts/run-ts.mjs bench/topk-layouts.ts [--layouts 1024x32,256x8] [--keys 2049,8192,32768] [--scores indexer|exp]
//   [--topk 2048] [--max-context 32802] [--iters 200] [--subgroups on,off]
// --subgroups: each layout with the subgroup scans and slot claims (where the adapter has subgroups) and/or without.
import { createStorage } from '../engine/gpu/buffers';
import { GpuContext } from '../engine/gpu/context';
import { indexerTopk, type TopkLayout } from '../engine/kernels/indexer';
import { topkSelect } from '../engine/reference/ops-indexer';
import { createBenchDevice, submitTimed, PassTimer, perRepetition } from './gpu-timing';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
}

const layouts: TopkLayout[] = arg('--layouts', '1024x32,1024x16,1024x8,512x32,512x16,256x32,256x8').split(',')
  .map((text) => { const [WG, REG] = text.split('x').map(Number); return { WG, REG }; });
const keyCounts = arg('--keys', '2049,8192,32768').split(',').map(Number);
const topk = Number(arg('--topk', '2048'));
const maxContext = Number(arg('--max-context', '32802'));
const iters = Number(arg('--iters', '200'));
const subgroupModes = arg('--subgroups', 'on').split(',').map((mode) => mode === 'on');

const { device, adapterInfo } = await createBenchDevice();
const scoresHost = new Float32Array(maxContext);
let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const gaussian = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
// 'indexer': what a random-weight indexer gives, Σ_h w_h·relu(q_h·k) over 16 heads of 128 dims, Gaussian q, k, w;
// 'exp': exponentially spread positive scores (a wide range of exponents).
const distribution = arg('--scores', 'indexer');
if (distribution === 'exp') {
  for (let i = 0; i < maxContext; i++) scoresHost[i] = -Math.log(random() + 1e-9) * 3;
} else {
  const heads = 16, dim = 128;
  const q = Float32Array.from({ length: heads * dim }, gaussian);
  const w = Float32Array.from({ length: heads }, gaussian);
  const k = new Float32Array(dim);
  for (let i = 0; i < maxContext; i++) {
    for (let d = 0; d < dim; d++) k[d] = gaussian();
    let score = 0;
    for (let h = 0; h < heads; h++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += q[h * dim + d] * k[d];
      score += w[h] * Math.max(0, dot);
    }
    scoresHost[i] = score / Math.sqrt(heads * dim);
  }
}
const scores = createStorage(device, maxContext * 4, 'scores');
device.queue.writeBuffer(scores, 0, scoresHost);
const indices = createStorage(device, topk * 4, 'indices');
const counts = createStorage(device, 16, 'counts');
const readback = device.createBuffer({ size: topk * 4 + 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });

console.log(`adapter: ${adapterInfo}`);
console.log(`topk ${topk}, ${distribution} scores, row of ${maxContext}, ${iters} dependent dispatches a measurement (GPU us per dispatch)`);
console.log(['layout', 'floor', ...keyCounts.map((n) => `${n} keys`)].map((s) => s.padStart(12)).join(''));
for (const [layout, subgroups] of layouts.flatMap((l) => subgroupModes.map((on) => [l, on] as const))) {
  const ctx = new GpuContext(device, { subgroups });
  const call = indexerTopk(ctx, { scores, indices, counts, topk, maxContext, layout });
  const cells: string[] = [];
  for (const n of [Math.min(100, topk), ...keyCounts]) {
    ctx.writeStep(1, n - 1, true);
    await submitTimed(device, null, 1, (begin) => { const pass = begin(0); call.encode(pass, 1); pass.end(); });
    if (n > topk) { // check once against the reference (a set: the kernel's order is unspecified)
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(indices, 0, readback, 0, topk * 4);
      encoder.copyBufferToBuffer(counts, 0, readback, topk * 4, 4);
      device.queue.submit([encoder.finish()]);
      await readback.mapAsync(GPUMapMode.READ);
      const got = new Uint32Array(readback.getMappedRange().slice(0));
      readback.unmap();
      const want = new Set(topkSelect(scoresHost, n, topk));
      const ok = got[topk] === topk && Array.from(got.subarray(0, topk)).every((i) => want.has(i)) && new Set(got.subarray(0, topk)).size === topk;
      if (!ok) { cells.push('WRONG'); continue; }
    }
    const timer = PassTimer.for(device, 1);
    const timing = perRepetition(await submitTimed(device, timer, 1, (begin) => {
      const pass = begin(0);
      for (let i = 0; i < iters; i++) call.encode(pass, 1);
      pass.end();
    }), iters, 1e6);
    timer?.destroy();
    cells.push((timing.gpu ?? timing.wall).toFixed(2));
  }
  const name = `${layout.WG}x${layout.REG}${subgroupModes.length > 1 ? (subgroups && ctx.subgroupMin ? ' sg' : ' tree') : ''}`;
  console.log([name, ...cells].map((s) => s.padStart(12)).join(''));
}
