// Decode bandwidth probe (a first piece of `npm run bench`): the adapter's streaming-read ceiling measured with a
// plain WGSL read kernel (gpu-timing.ts), then the matrix-vector kernel's achieved read bandwidth for f16/q8/q4 weights at
// DeepSeek-V2-Lite's projection shapes, each as a share of that ceiling. Wall-clock over many dispatches in one
// submit (no timestamp queries needed), after a warm-up. Usage: node scripts/run-ts.mjs bench/matvec-bandwidth.ts
// [--json] [--lanes N]; on the GPU machine bundle it into .gpu/ (see DEVELOPERS.md).
import { createStorage } from '../engine/gpu/buffers';
import { GpuContext } from '../engine/gpu/context';
import { createNodeDevice } from '../engine/gpu/node-gpu';
import { linear } from '../engine/kernels/linear';
import { packedLayout, type StorageDtype } from '../engine/weights/quant';
import type { GpuWeight } from '../engine/weights/gpu-weight';
import { streamingCeiling, timeSubmit } from './gpu-timing';

/** A zero-filled weight of the given format (contents do not change the bytes read). */
function zeroWeight(device: GPUDevice, dtype: StorageDtype, n: number, k: number, group: number): GpuWeight {
  const layout = packedLayout(dtype, n, k, group);
  return {
    buffer: createStorage(device, layout.words * 4, `w_${dtype}`), dtype, shape: [n, k], rowStride: layout.rowWords,
    group: layout.group, scaleOffset: layout.scaleOffset, scaleRowStride: layout.scaleRowWords,
  };
}

// DeepSeek-V2-Lite (hidden 2048, 16 heads, kv_lora_rank 512, dense FFN 10944, expert 1408, vocab 102400).
const SHAPES: { name: string; n: number; k: number }[] = [
  { name: 'q_proj', n: 16 * 192, k: 2048 },
  { name: 'kv_a_proj_with_mqa', n: 576, k: 2048 },
  { name: 'o_proj', n: 2048, k: 2048 },
  { name: 'dense gate_up', n: 2 * 10944, k: 2048 },
  { name: 'dense down', n: 2048, k: 10944 },
  { name: 'shared experts gate_up', n: 2 * 2 * 1408, k: 2048 },
  { name: 'lm_head', n: 102400, k: 2048 },
];

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const { device, adapterInfo, cpu } = await createNodeDevice();
  const iters = cpu ? 2 : 200;
  const ceiling = await streamingCeiling(device, cpu ? 16 << 20 : 1 << 30, cpu ? 2 : 50);
  // --lanes N: threads per matrix row (a power of two up to 256) instead of the adapter's default layout.
  const lanesArg = process.argv.indexOf('--lanes');
  const lanes = lanesArg > 0 ? Number(process.argv[lanesArg + 1]) : 0;
  const ctx = new GpuContext(device, lanes ? { matvec: { WG: 256, THREADS_PER_ROW: lanes, ROWS_PER_WG: 256 / lanes } } : {});
  const rows: Record<string, unknown>[] = [];
  for (const dtype of ['f16', 'q8', 'q4'] as const) {
    for (const { name, n, k } of SHAPES) {
      const weight = zeroWeight(device, dtype, n, k, dtype === 'q8' ? 16 : 32);
      const input = createStorage(device, k * 4, 'x');
      const output = createStorage(device, n * 4, 'y');
      const call = linear(ctx, { input, weight, output });
      ctx.writeStep(1, 0, false);
      const seconds = await timeSubmit(device, iters, (pass) => call.encode(pass, 1));
      const bytes = weight.buffer.size + k * 4 + n * 4;
      const gbps = bytes / seconds / 1e9;
      rows.push({ dtype, name, n, k, bytes, us: +(seconds * 1e6).toFixed(2), gbps: +gbps.toFixed(1), ofCeiling: +(gbps / ceiling).toFixed(3) });
      weight.buffer.destroy();
    }
  }
  if (json) {
    console.log(JSON.stringify({ adapter: adapterInfo, ceilingGBps: +ceiling.toFixed(1), matvec: rows }));
    return;
  }
  console.log(`adapter: ${adapterInfo}\nstreaming-read ceiling: ${ceiling.toFixed(1)} GB/s`);
  for (const r of rows) console.log(`${String(r.dtype).padEnd(4)} ${String(r.name).padEnd(24)} [${r.n}, ${r.k}]  ${r.us} us  ${r.gbps} GB/s  ${(100 * Number(r.ofCeiling)).toFixed(0)}% of ceiling`);
}

main().then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });
