// Buffer helpers: storage buffers for activations and weights, uploads, and reading results back (tests, logits).
/** Usage of every engine storage buffer; a function because the GPUBufferUsage global only exists once WebGPU is set up. */
export function storageUsage(): number {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

export function createStorage(device: GPUDevice, bytes: number, label: string): GPUBuffer {
  return device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: storageUsage() });
}

export function uploadArray(device: GPUDevice, data: Float32Array | Uint32Array | Int32Array, label: string): GPUBuffer {
  const buffer = createStorage(device, data.byteLength, label);
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

export async function readBuffer(device: GPUDevice, source: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(source, offset, staging, 0, staging.size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const copy = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  return copy;
}

export async function readF32(device: GPUDevice, source: GPUBuffer, count: number, offset = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, source, count * 4, offset));
}

export async function readU32(device: GPUDevice, source: GPUBuffer, count: number, offset = 0): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(device, source, count * 4, offset));
}

/** Encodes one compute pass with the given calls and submits it. */
export function runCalls(device: GPUDevice, calls: { encode(pass: GPUComputePassEncoder, rows: number): void }[], rows: number): void {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (const call of calls) call.encode(pass, rows);
  pass.end();
  device.queue.submit([encoder.finish()]);
}
