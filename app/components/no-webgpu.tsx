// Shown instead of the app when the browser cannot run the engine: what is missing (no WebGPU API, or no GPU
// adapter behind it) and how to get it.
import type { NoWebGpuReason } from '../boot';

const WHAT_IS_MISSING: Record<NoWebGpuReason, string> = {
  'no-webgpu-api': 'This browser does not offer WebGPU (or it is switched off).',
  'no-webgpu-adapter': 'This browser has WebGPU, but it gives no GPU adapter: the GPU is blocklisted, hardware acceleration is off, or the driver is too old.',
  'no-webgpu-engine': 'The engine found no usable WebGPU adapter in this browser.',
};

export function NoWebGpu({ reason }: { reason: NoWebGpuReason }) {
  return (
    <main className="no-webgpu" data-testid="no-webgpu" role="alert">
      <h1>This browser cannot run DeepSeek on WebGPU</h1>
      <p><strong>{WHAT_IS_MISSING[reason]}</strong></p>
      <p>
        The chat runs the model on your GPU inside this tab, through WebGPU. Nothing is sent to a server, so there is
        no fallback: WebGPU is needed.
      </p>
      <h2>How to get WebGPU</h2>
      <ul>
        <li><strong>Chrome or Edge 113 or newer</strong> (Windows, macOS, ChromeOS; Android 121+): WebGPU is on by default. Update the browser and reload.</li>
        <li><strong>Chrome or Edge on Linux</strong>, or an older GPU: open <code>chrome://flags/#enable-unsafe-webgpu</code>, set it to Enabled and restart the browser (<code>edge://flags/#enable-unsafe-webgpu</code> in Edge).</li>
        <li><strong>Firefox</strong>: WebGPU is on in recent releases on Windows; elsewhere use Firefox Nightly and set <code>dom.webgpu.enabled</code> to true in <code>about:config</code>.</li>
        <li><strong>Safari</strong>: Safari 26 has it; on older versions use Safari Technology Preview and turn on WebGPU under Develop → Feature Flags.</li>
        <li><strong>Hardware acceleration must be on</strong>: in Chrome/Edge, Settings → System → “Use graphics acceleration when available”. Check <code>chrome://gpu</code> for “WebGPU: Hardware accelerated”.</li>
        <li>Still nothing? Update the GPU driver; some blocklisted GPUs need <code>chrome://flags/#enable-unsafe-webgpu</code> too.</li>
      </ul>
      <p>Then reload this page.</p>
    </main>
  );
}
