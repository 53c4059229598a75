// Start-up order: WebGPU present with an adapter (else the no-WebGPU page), stored conversations and settings read back
// (the stored model choice decides what to load), the service worker registered (app/service-worker.ts), the
// worker's WebGPU probe, then the start model loads in the background (the KV cache settings are applied before it
// and on every change). Also runs the error banner's buttons, which need the engine and the persistence handles.
import { loadStartModel, probeEngine, restartEngine } from './engine-actions';
import { watchKvSettings } from './kv-cache-actions';
import { registerServiceWorker } from './service-worker';
import { useAppStore } from './store';
import type { StepAction } from './store/next-steps';
import type { Persistence } from './store/persistence';
import { startPersistence } from './store/persistence';

export type AppPhase = 'checking' | 'running' | NoWebGpuReason;

/** Why the engine cannot run: no WebGPU API, an API without an adapter, or the worker's probe said so. */
export type NoWebGpuReason = 'no-webgpu-api' | 'no-webgpu-adapter' | 'no-webgpu-engine';

let booting: Promise<AppPhase> | null = null;
let persistence: Persistence | null = null;

/** Runs once per page, whatever React's StrictMode does with effects. */
export function boot(): Promise<AppPhase> {
  booting ??= (async (): Promise<AppPhase> => {
    if (!('gpu' in navigator) || !navigator.gpu) return 'no-webgpu-api';
    // Only asks whether an adapter exists (no device is made here); the engine's own probe runs in the worker.
    if (!(await navigator.gpu.requestAdapter().catch(() => null))) return 'no-webgpu-adapter';
    persistence = await startPersistence(useAppStore);
    // Before the engine worker starts, so the model files it fetches go through the offline cache.
    await registerServiceWorker(() => useAppStore.getState().showError('APP_UPDATED',
      'A new version of the app was installed while this page was open.'));
    if ((await probeEngine()) === 'no-webgpu') return 'no-webgpu-engine';
    watchKvSettings();
    void loadStartModel();
    return 'running';
  })();
  return booting;
}

export function runStepAction(action: StepAction): void {
  const store = useAppStore.getState();
  switch (action) {
    case 'reload-engine':
      store.dismissError();
      void restartEngine();
      return;
    case 'new-conversation':
      store.dismissError();
      store.newConversation();
      return;
    case 'pick-model':
      document.querySelector<HTMLSelectElement>('[data-testid="model-select"]')?.focus();
      return;
    case 'retry-save':
      void persistence?.saveNow();
      return;
    case 'reload-page':
      window.location.reload();
      return;
  }
}
