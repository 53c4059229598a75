// Vitest setup: WebGPU in Node runs on Dawn; on machines without a GPU the Vulkan loader uses SwiftShader from
// Debian's chromium package, so `npm test` needs no environment set by hand. Installing the WebGPU globals here
// lets engine modules use GPUBufferUsage and friends like they would in a browser.
import { installNodeWebGpu } from '../../engine/gpu/node-gpu';

await installNodeWebGpu();
