// The app shell. For now it checks that this browser can run the engine (WebGPU adapter and its limits) and says
// so plainly; the chat UI, model downloads and the worker engine are built on top of this (issues 4 and 5).
import { useEffect, useState } from 'react';

type GpuStatus =
  | { state: 'checking' }
  | { state: 'missing'; message: string }
  | { state: 'ready'; adapter: string; maxBinding: number };

export function App() {
  const [status, setStatus] = useState<GpuStatus>({ state: 'checking' });
  useEffect(() => {
    void probeWebGpu().then(setStatus);
  }, []);
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 720, margin: '3rem auto', padding: '0 1rem' }}>
      <h1>DeepSeek on WebGPU</h1>
      {status.state === 'checking' && <p>Checking WebGPU…</p>}
      {status.state === 'missing' && <p role="alert">{status.message}</p>}
      {status.state === 'ready' && (
        <p>
          WebGPU adapter: {status.adapter || 'unnamed'} (largest storage binding {Math.round(status.maxBinding / 2 ** 20)} MiB).
          The engine runs here; the chat interface is not built yet.
        </p>
      )}
    </main>
  );
}

async function probeWebGpu(): Promise<GpuStatus> {
  if (!('gpu' in navigator)) {
    return { state: 'missing', message: 'This browser has no WebGPU. Use a recent Chrome or Edge, or enable WebGPU in the browser settings.' };
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { state: 'missing', message: 'WebGPU is present but no GPU adapter is available. Update the GPU driver or enable hardware acceleration.' };
  const info = adapter.info;
  return { state: 'ready', adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' '), maxBinding: adapter.limits.maxStorageBufferBindingSize };
}
