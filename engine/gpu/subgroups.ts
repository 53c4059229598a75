// Subgroup operations (WebGPU's optional 'subgroups' feature) for the kernels' reductions: where the adapter has the
// feature and a probe confirms the layout the WGSL relies on, every pipeline is built with SUBGROUPS and
// SUBGROUP_MIN defined (GpuContext.pipeline), and the shared reductions (shaders/common/workgroup_sum.wgsl,
// lane_reduce.wgsl) sum within a subgroup by shuffles instead of a tree through workgroup memory with a barrier a
// level. Without it (or when a test turns it off) they keep the tree: the fallback every adapter can run.
// What the WGSL assumes and the probe checks, on a 1-D workgroup: subgroups are consecutive runs of
// local_invocation_index (invocation id = index % size), all invocations active, and the size a power of two of at
// least SUBGROUP_MIN (the adapter's subgroupMinSize). The spec leaves that mapping to the implementation; GPUs lay
// subgroups out that way, and an adapter that did not would run the fallback.

/** SUBGROUP_MIN of the devices the probe passed. */
const SUBGROUP_MIN = new WeakMap<GPUDevice, number>();

/** The smallest subgroup size `device`'s pipelines may get, where subgroup reductions are on; null where off. */
export function subgroupMinSize(device: GPUDevice): number | null {
  return SUBGROUP_MIN.get(device) ?? null;
}

const PROBE_WG = 256;
const PROBE = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> bad: atomic<u32>;
@compute @workgroup_size(${PROBE_WG})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_size) size: u32,
  @builtin(subgroup_invocation_id) id: u32) {
  let live = subgroupAdd(1u);
  let first = subgroupBroadcastFirst(lid);
  let ok = id == lid % size && live == size && first == lid - id && (size & (size - 1u)) == 0u && size >= MIN;
  if (!ok) { atomicAdd(&bad, 1u); }
}`;

/**
 * Runs the layout probe on `device` (created with the 'subgroups' feature) and records the result. `minSize`: the
 * adapter's subgroupMinSize (4, WebGPU's least, where the adapter does not say). Returns whether subgroups are on.
 */
export async function probeSubgroups(device: GPUDevice, minSize: number | undefined): Promise<boolean> {
  if (!device.features.has('subgroups')) return false;
  const min = minSize && minSize >= 4 ? minSize : 4;
  if (device.limits.maxComputeInvocationsPerWorkgroup < PROBE_WG) return false;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: 'subgroup_probe', code: `enable subgroups;\nconst MIN: u32 = ${min}u;${PROBE}` });
  const pipeline = device.createComputePipeline({ label: 'subgroup_probe', layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bad = device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const readback = device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: bad } }] }));
  pass.dispatchWorkgroups(4);
  pass.end();
  encoder.copyBufferToBuffer(bad, 0, readback, 0, 4);
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  let ok = false;
  if (!error) {
    await readback.mapAsync(GPUMapMode.READ);
    ok = new Uint32Array(readback.getMappedRange())[0] === 0;
    readback.unmap();
  }
  bad.destroy();
  readback.destroy();
  if (ok) SUBGROUP_MIN.set(device, min);
  return ok;
}
