// What the model controls do besides picking a listed model: load a package by URL or from a picked folder, pause,
// resume and cancel the running download, and delete a stored model. The engine worker does the work (download,
// verification, IndexedDB); these only command it and put the outcome in the store.
import type { ModelEntry } from '../engine/worker/protocol';
import { engineClient, loadingEntry, loadModel, refreshStoredModels, reportEngineError, showModelReady } from './engine-actions';
import { storageFacts } from './storage';
import { useAppStore } from './store';

const store = () => useAppStore.getState();

function addModel(entry: ModelEntry): void {
  store().setModels([...store().models.filter((m) => m.id !== entry.id), entry]);
}

/** Reads the package's manifest at `url`, lists the model and loads it (downloading it first). */
export async function loadModelFromUrl(url: string): Promise<void> {
  try {
    const entry = await engineClient().describePackage(url.trim());
    addModel(entry);
    await loadModel(entry, true);
  } catch (error) {
    reportEngineError(error);
  }
}

/** Copies a picked folder's package into IndexedDB (verified), lists the model and loads it. */
export async function loadModelFromFolder(files: File[]): Promise<void> {
  store().setModelStatus('loading');
  store().setLoadProgress(null);
  try {
    const entry = await engineClient().importFolder(files, (progress) => store().setLoadProgress(progress), await storageFacts());
    addModel(entry);
    await loadModel(entry, true);
  } catch (error) {
    store().setModelStatus('failed');
    reportEngineError(error);
    void refreshStoredModels();
  }
}

/** The files at the top of a folder the person picks with the directory picker (null when it is unavailable). */
export async function pickFolderFiles(): Promise<File[] | null> {
  const picker = (window as unknown as { showDirectoryPicker?: () => Promise<FileSystemDirectoryHandle> }).showDirectoryPicker;
  if (!picker) return null;
  const folder = await picker();
  const files: File[] = [];
  for await (const handle of (folder as unknown as { values(): AsyncIterable<FileSystemHandle> }).values()) {
    if (handle.kind === 'file') files.push(await (handle as FileSystemFileHandle).getFile());
  }
  return files;
}

export function pauseDownload(): void {
  engineClient().pauseDownload();
}

export async function resumeDownload(): Promise<void> {
  const entry = loadingEntry();
  if (entry) await loadModel(entry, false);
}

/** Stops the download and deletes what it stored. */
export async function cancelDownload(): Promise<void> {
  const entry = loadingEntry();
  if (!entry) return;
  try {
    await engineClient().cancelDownload(entry.id);
  } catch (error) {
    reportEngineError(error);
  }
  // The engine unloads its model only once a new package is stored: after a cancel the previous one still answers.
  const still = await engineClient().activeModel();
  if (still) {
    showModelReady(still);
  } else {
    store().setModelStatus('none');
    store().setLoadProgress(null);
  }
  await refreshStoredModels();
}

export async function deleteStoredModel(id: string): Promise<void> {
  try {
    await engineClient().deleteModel(id);
  } catch (error) {
    reportEngineError(error);
  }
  await refreshStoredModels();
}
