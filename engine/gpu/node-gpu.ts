// WebGPU in Node through Dawn (the `webgpu` package), for tests, CLIs and benchmarks. On a machine without a GPU
// it points the Vulkan loader at SwiftShader from Debian's chromium package, unless a driver is already chosen
// (VK_ICD_FILENAMES / VK_DRIVER_FILES, as the GPU machine's setup does).
import { existsSync } from 'node:fs';
import { createEngineDevice, type EngineDevice } from './device';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

// Dawn tears its instance down when the GPU object is garbage collected, even while devices from it are in use:
// keep it alive for the life of the process.
let dawnGpu: GPU | undefined;

/** Installs the WebGPU globals (GPUBufferUsage, GPUMapMode, ...) and returns Dawn's `navigator.gpu` equivalent. */
export async function installNodeWebGpu(): Promise<GPU> {
  if (dawnGpu) return dawnGpu;
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  dawnGpu = create([]) as unknown as GPU;
  return dawnGpu;
}

export async function createNodeDevice(): Promise<EngineDevice> {
  return createEngineDevice(await installNodeWebGpu());
}
