// Wall-clock GPU timing shared by the benchmarks (no timestamp queries needed): a kernel encoded many times in one
// submit after a warm-up, and the adapter's streaming-read ceiling — a plain WGSL kernel that XORs a big buffer
// through vec4<u32> loads with a grid-stride loop — against which the matrix-vector kernels are judged.
import { createStorage } from '../engine/gpu/buffers';

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

/** Seconds per repetition of `encode` (each in its own compute pass), `iters` of them in one submit, after two. */
export async function timeSubmit(device: GPUDevice, iters: number, encode: (pass: GPUComputePassEncoder) => void): Promise<number> {
  const run = async (n: number) => {
    const encoder = device.createCommandEncoder();
    for (let i = 0; i < n; i++) {
      const pass = encoder.beginComputePass();
      encode(pass);
      pass.end();
    }
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await run(2);
  const t0 = performance.now();
  await run(iters);
  return (performance.now() - t0) / 1000 / iters;
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
 * it): the best of three runs of `iters` reads each.
 */
export async function streamingCeiling(device: GPUDevice, requested: number, iters: number): Promise<number> {
  const src = await largestStorage(device, requested, 'stream_src');
  const bytes = src.size;
  const sink = createStorage(device, 16, 'stream_sink');
  const module = device.createShaderModule({ code: READ_KERNEL });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: sink } }] });
  // The best of three measurements: a GPU that has just been given work may not be at its full clock yet (one run
  // on the H100 measured 1,656 GB/s where every other gave 2,870-3,000).
  let seconds = Infinity;
  for (let i = 0; i < 3; i++) {
    seconds = Math.min(seconds, await timeSubmit(device, iters, (pass) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(Math.min(65535, Math.ceil(bytes / 16 / 256 / 8)));
    }));
  }
  src.destroy();
  sink.destroy();
  return bytes / seconds / 1e9;
}
