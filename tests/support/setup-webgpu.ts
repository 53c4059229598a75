// Vitest setup: WebGPU in Node runs on Dawn; on machines without a GPU the Vulkan loader uses SwiftShader from
// Debian's chromium package, so `npm test` needs no environment set by hand.
import { existsSync } from 'node:fs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}
