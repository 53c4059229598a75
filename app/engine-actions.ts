// Engine lifecycle for the app: start (probe, list models, load the start model), load a chosen model, and
// restart after DEVICE_LOST (terminate the worker, start a fresh one, load the same model again; conversations
// stay in the store). Engine errors go to the banner with their next step. Every load first applies the KV cache
// settings (app/kv-cache-actions.ts).
import { toErrorInfo } from '../engine/worker/error-transfer';
import type { EngineErrorInfo, LoadedModelInfo, ModelEntry } from '../engine/worker/protocol';
import { EngineClient } from './engine-client';
import { applyKvSettings } from './kv-cache-actions';
import { requestPersistentStorage, storageFacts } from './storage';
import { useAppStore } from './store';
import { modelToLoadOnStart } from './store/model-choice';
import type { BannerCode } from './store/next-steps';

const store = () => useAppStore.getState();

/** Errors about getting a model running, which a successful load resolves. */
const LOAD_ERRORS: BannerCode[] = ['DEVICE_LOST', 'NETWORK', 'INTEGRITY', 'BAD_MANIFEST', 'BAD_CHECKPOINT', 'ADAPTER_LIMITS'];

let client: EngineClient | null = null;
let lastEntry: ModelEntry | null = null;
let restarting: Promise<void> | null = null;
/** One automatic restart per loss; a loss again before a model is ready waits for the person's click. */
let autoRestartAllowed = true;

export function engineClient(): EngineClient {
  if (!client) {
    client = new EngineClient((info) => void handleEngineError(info));
    client.onCacheError = (info) => store().showError(info.code, info.message);
  }
  return client;
}

/** Asks the worker about WebGPU. 'no-webgpu' when it finds none (the app then shows that page). */
export async function probeEngine(): Promise<'ok' | 'no-webgpu'> {
  try {
    store().setAdapter(await engineClient().probe());
  } catch (error) {
    const info = toErrorInfo(error);
    if (info.code === 'NO_WEBGPU') return 'no-webgpu';
    store().showError(info.code, info.message);
  }
  return 'ok';
}

/** Lists the installed models and loads the start one (the last choice, else the bundled default). */
export async function loadStartModel(): Promise<void> {
  try {
    const bundled = await engineClient().listModels();
    const stored = await engineClient().storedModels().catch(() => []);
    store().setStoredModels(stored);
    store().setModels(withStoredModels(bundled, stored.map((s) => s.entry)));
  } catch (error) {
    store().setModelStatus('failed');
    reportEngineError(error);
    return;
  }
  const entry = modelToLoadOnStart(store().models, store().chosenModelId);
  if (entry) await loadModel(entry, false);
  else store().setModelStatus('none');
}

/** The bundled models, then the stored ones not bundled (by URL or from a folder), each id once. */
export function withStoredModels(bundled: ModelEntry[], stored: ModelEntry[]): ModelEntry[] {
  const ids = new Set(bundled.map((m) => m.id));
  return [...bundled, ...stored.filter((m) => !ids.has(m.id))];
}

/** Re-reads the models stored in IndexedDB (sizes, complete or not) and adds new ones to the picker. */
export async function refreshStoredModels(): Promise<void> {
  const stored = await engineClient().storedModels().catch(() => null);
  if (!stored) return;
  store().setStoredModels(stored);
  store().setModels(withStoredModels(store().models.filter((m) => m.bundled), stored.map((s) => s.entry)));
}

/** The entry currently being loaded or downloaded (the pause/resume/cancel buttons act on it). */
export function loadingEntry(): ModelEntry | null {
  return lastEntry;
}

/** Loads `entry` (downloading it into IndexedDB first); `chosen` marks the person's own pick, remembered for the next start. */
export async function loadModel(entry: ModelEntry, chosen: boolean): Promise<void> {
  const s = store();
  if (chosen) s.setChosenModelId(entry.id);
  lastEntry = entry;
  s.setLoadedModel(null);
  s.setModelStatus('loading');
  s.setLoadProgress(null);
  try {
    await applyKvSettings(); // a fresh worker starts with the engine's defaults
    void requestPersistentStorage().then((granted) => { if (granted !== null) store().setStoragePersisted(granted); });
    const loaded = await engineClient().loadModel(entry, (progress) => store().setLoadProgress(progress), { storage: await storageFacts() });
    if (lastEntry !== entry) return; // another model was picked meanwhile
    showModelReady(loaded);
    for (const code of LOAD_ERRORS) store().dismissError(code); // a model is ready: those are resolved
    autoRestartAllowed = true;
  } catch (error) {
    if (lastEntry !== entry) return;
    const info = toErrorInfo(error);
    const paused = info.code === 'ABORTED' && info.details.why === 'paused';
    // A download that fails, is cancelled or paused leaves the previous model loaded in the engine (it unloads
    // only once the new package is stored): show it as ready again, so its conversations go on.
    const still = await engineClient().activeModel();
    if (lastEntry !== entry) return;
    if (still && !paused) showModelReady(still);
    else store().setModelStatus(paused ? 'paused' : 'failed');
    reportEngineError(error);
  } finally {
    void refreshStoredModels();
  }
}

/** Shows `model` as the loaded one, ready to answer (after its load, or when a failed or cancelled load left it). */
export function showModelReady(model: LoadedModelInfo): void {
  store().setLoadedModel(model);
  store().setModelStatus('ready');
  store().setLoadProgress(null);
}

/** Terminates the worker and starts again with the same model (or the start model if none was loaded). */
export function restartEngine(): Promise<void> {
  restarting ??= (async () => {
    store().setModelStatus('restarting');
    store().setLoadedModel(null);
    engineClient().restart();
    if (lastEntry && store().models.length > 0) await loadModel(lastEntry, false);
    else await loadStartModel();
  })().finally(() => { restarting = null; });
  return restarting;
}

/** Shows an engine error; a lost device with a model to reload restarts the engine once without a click. */
export function reportEngineError(error: unknown): void {
  void handleEngineError(toErrorInfo(error));
}

async function handleEngineError(info: EngineErrorInfo): Promise<void> {
  if (info.code === 'ABORTED') return;
  store().showError(info.code, info.message);
  if (info.code !== 'DEVICE_LOST' || !lastEntry || restarting || !autoRestartAllowed) return;
  if (store().modelStatus !== 'ready') return; // lost while loading: the person reloads from the banner
  autoRestartAllowed = false;
  await restartEngine();
}
