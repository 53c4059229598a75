// WebGPU in Node through Dawn (the `webgpu` package), for tests, CLIs and benchmarks. On a machine without a GPU
// it points the Vulkan loader at SwiftShader from Debian's chromium package, unless a driver is already chosen
// (VK_ICD_FILENAMES / VK_DRIVER_FILES, as the GPU machine's setup does).
import { existsSync } from 'node:fs';
import { createEngineDevice, type EngineDevice, type EngineDeviceOptions } from './device';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

// Dawn tears its instance down when the GPU object is garbage collected, even while devices from it are in use:
// keep it alive for the life of the process.
let dawnGpu: GPU | undefined;

/**
 * Installs the WebGPU globals (GPUBufferUsage, GPUMapMode, ...) and returns Dawn's `navigator.gpu` equivalent.
 * `dawnFlags` (e.g. 'disable-dawn-features=timestamp_quantization') apply to the first call only: Dawn's instance
 * lives as long as the process.
 */
export async function installNodeWebGpu(dawnFlags: string[] = []): Promise<GPU> {
  if (dawnGpu) return dawnGpu;
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  dawnGpu = create(dawnFlags) as unknown as GPU;
  return dawnGpu;
}

export async function createNodeDevice(options: EngineDeviceOptions = {}): Promise<EngineDevice> {
  return createEngineDevice(await installNodeWebGpu(), options);
}
