// WebGPU in Node through Dawn (the `webgpu` package), for tests, CLIs and benchmarks. On a machine without a GPU
// it points the Vulkan loader at SwiftShader from Debian's chromium package, unless a driver is already chosen
// (VK_ICD_FILENAMES / VK_DRIVER_FILES, as the GPU machine's setup does).
import { existsSync } from 'node:fs';
import { createEngineDevice, type EngineDevice } from './device';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export async function createNodeDevice(): Promise<EngineDevice> {
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  return createEngineDevice(create([]) as unknown as GPU);
}
